import type { Writable } from 'node:stream';
import { ndjsonOf, StreamSink } from '../output.js';
import type { CommittedCounts, ResourceWriter, Resumed } from './sink.js';

/**
 * StreamWriter: records to a stream such as stdout, as NDJSON. There is nothing to resume
 * and no state kept: a commit writes the records, honouring the stream's backpressure, and
 * drops the state.
 */
export class StreamWriter<S extends CommittedCounts> implements ResourceWriter<S> {
  private readonly sink: StreamSink;

  constructor(stream: Writable) {
    this.sink = new StreamSink(stream);
  }

  resume(): Promise<Resumed<S> | undefined> {
    return Promise.resolve(undefined);
  }

  async commit(records: readonly string[]): Promise<void> {
    if (records.length > 0) await this.sink.append(ndjsonOf(records));
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
