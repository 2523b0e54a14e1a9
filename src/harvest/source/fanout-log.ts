import { DurableFile, ndjsonOf } from '../output.js';
import type { CrashHook } from '../crash-points.js';
import type { ResourceWriter, Resumed } from '../sinks/sink.js';
import type { ResourceState } from './resource-state.js';

/**
 * LoggedWriter: a resource's writer into a database or Parquet sink that also keeps its
 * records in a local NDJSON log, for its children to read back (a sink is written, not
 * read). Each commit appends the records to the log and fsyncs it first, then commits
 * records and state — the state holding the log's length — into the sink; on resume the log
 * is cut back to the length the sink's state records. So the log holds exactly the records
 * the sink committed, as the NDJSON sink's file does, whatever instant a crash came.
 */
export class LoggedWriter implements ResourceWriter<ResourceState> {
  private log: DurableFile | undefined;

  constructor(
    private readonly inner: ResourceWriter<ResourceState>,
    private readonly path: string,
    private readonly crash: CrashHook | undefined,
  ) {}

  async resume(): Promise<Resumed<ResourceState> | undefined> {
    const saved = await this.inner.resume();
    this.log = await DurableFile.open(this.path, saved?.state.log ?? 0, this.crash);
    return saved;
  }

  async commit(records: readonly string[], state: ResourceState): Promise<void> {
    const log = this.log!;
    const bytes = ndjsonOf(records);
    if (bytes.length > 0) await log.append(bytes);
    state.log = (state.log ?? 0) + bytes.length;
    await this.inner.commit(records, state);
  }

  async close(): Promise<void> {
    try {
      await this.log?.close();
    } finally {
      await this.inner.close();
    }
  }
}
