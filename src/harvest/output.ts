import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CrashHook } from './crash-points.js';

/** Where records go: a durable file, or a stream (stdout) with no durability to offer. */
export interface RecordSink {
  /** Appends `bytes`; with a file, resolves once they are on disk (fsync). */
  append(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * DurableFile: the NDJSON output. `open` cuts the file back to `length` — the bytes the
 * state file vouches for; anything after them is a page written before a crash whose
 * state was never saved, and it will be fetched and written again. Each append is
 * written whole and fsynced before it resolves.
 */
export class DurableFile implements RecordSink {
  private constructor(
    private readonly file: FileHandle,
    private position: number,
    private readonly crash: CrashHook | undefined,
  ) {}

  static async open(path: string, length: number, crash?: CrashHook): Promise<DurableFile> {
    const file = await open(path, 'a+');
    try {
      const { size } = await file.stat();
      if (size < length) {
        throw new Error(`${path} holds ${size} bytes but its state file records ${length}: the output was changed since; remove both to start over`);
      }
      if (size > length) {
        await file.truncate(length);
        await file.sync();
      }
      return new DurableFile(file, length, crash);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  async append(bytes: Buffer): Promise<void> {
    if (this.crash && bytes.length > 1) {
      const half = bytes.length >> 1;
      await this.writeAll(bytes.subarray(0, half));
      this.crash('output-partial');
      await this.writeAll(bytes.subarray(half));
    } else {
      await this.writeAll(bytes);
    }
    this.crash?.('output-written');
    await this.file.sync();
    this.crash?.('output-synced');
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

/** StreamSink: records to a stream such as stdout, honouring its backpressure. */
export class StreamSink implements RecordSink {
  constructor(private readonly stream: Writable) {}

  append(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {}
}

/** The NDJSON of a page's records: one JSON text per line. */
export function ndjsonOf(items: readonly unknown[]): Buffer {
  let text = '';
  for (const item of items) text += `${JSON.stringify(item) ?? 'null'}\n`;
  return Buffer.from(text);
}
