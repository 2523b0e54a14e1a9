import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CrashHook } from './crash-points.js';
import { StateRefusedError } from './harvest-errors.js';

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
 *
 * The output must agree with its state: at least `length` bytes, the last of them the end
 * of a line. Otherwise the output was changed, or the state edited, and StateRefusedError
 * says so before anything is cut.
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
        throw new StateRefusedError(path, `holds ${size} bytes but its state file records ${length}: the output was changed since; remove both to start over`);
      }
      if (length > 0 && (await byteAt(file, length - 1)) !== 0x0a) {
        throw new StateRefusedError(path, `its state file records ${length} bytes, which do not end a line: the output or the state was changed since; remove both to start over`);
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

  /**
   * The last whole lines before the current end, at most `maxLines` of them and from at most
   * `maxBytes` bytes back: the records an earlier run wrote last.
   */
  async tail(maxLines: number, maxBytes: number): Promise<string[]> {
    const from = Math.max(0, this.position - maxBytes);
    const bytes = Buffer.alloc(this.position - from);
    for (let done = 0; done < bytes.length; ) {
      const { bytesRead } = await this.file.read(bytes, done, bytes.length - done, from + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const lines = bytes.toString('utf8').split('\n');
    lines.pop(); // after the last newline: nothing
    if (from > 0) lines.shift(); // the line cut by the window's start
    return lines.slice(-maxLines);
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

async function byteAt(file: FileHandle, position: number): Promise<number | undefined> {
  const one = Buffer.alloc(1);
  const { bytesRead } = await file.read(one, 0, 1, position);
  return bytesRead === 1 ? one[0] : undefined;
}

/** The reader of the records stream went away (`sluice harvest … | head -1`): the harvest stops. */
export class OutputClosedError extends Error {
  override name = 'OutputClosedError';
}

/**
 * StreamSink: records to a stream such as stdout, honouring its backpressure. A stream
 * whose reader has gone (EPIPE) fails the append with OutputClosedError; its error events
 * are listened to, so none goes unhandled.
 */
export class StreamSink implements RecordSink {
  private closed: Error | undefined;
  private readonly onError = (error: Error): void => {
    this.closed ??= error;
  };

  constructor(private readonly stream: Writable) {
    stream.on('error', this.onError);
  }

  append(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(closedError(this.closed));
      this.stream.write(bytes, (error) => (error ? reject(closedError(error)) : resolve()));
    });
  }

  async close(): Promise<void> {
    // Left listening: a write already queued may still fail after the harvest ends.
  }
}

function closedError(error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' ? new OutputClosedError(`the reader of stdout closed it (${code})`, { cause: error }) : error;
}

/** The NDJSON of a page's records: one line each, as readPage gave them. */
export function ndjsonOf(lines: readonly string[]): Buffer {
  return lines.length === 0 ? Buffer.alloc(0) : Buffer.from(`${lines.join('\n')}\n`);
}
