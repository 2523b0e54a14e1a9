import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { removeStaleTemp, writeAtomically } from '../atomic-file.js';
import type { CrashHook } from '../crash-points.js';
import { StateRefusedError } from '../harvest-errors.js';
import { OutputLock } from '../output-lock.js';
import { DurableFile, ndjsonOf } from '../output.js';
import { statePathOf } from '../state-file.js';
import type { CommittedCounts, ResourceSpec, ResourceWriter, Resumed, Sink } from './sink.js';

/** The most bytes at the end of the output read on resume, for the loop guard to recognise its last records. */
const TAIL_BYTES = 32 * 1024 * 1024;

export interface NdjsonSinkOptions {
  /** The file of a resource's records; its state file is `<file>.state.json` beside it. */
  pathOf: (resource: string) => string;
  /** The option that named the files, for errors. Default `--out`. */
  field?: string | undefined;
  /** Test hook: called at each instant of a commit (see crash-points.ts). */
  crash?: CrashHook | undefined;
}

/**
 * NdjsonSink: one NDJSON file per resource, each with its state file beside it. A commit
 * appends the records and fsyncs them, then replaces the state file atomically (temp, fsync,
 * rename, directory fsync) with the new file length in `bytes`; resume cuts the file back to
 * that length — what a crash between the two left is a page written whose state was never
 * saved, fetched and written again.
 */
export class NdjsonSink implements Sink {
  readonly description: string;
  constructor(private readonly options: NdjsonSinkOptions) {
    this.description = options.pathOf('{resource}');
  }

  async open<S extends CommittedCounts>(resource: ResourceSpec<S>): Promise<ResourceWriter<S>> {
    const out = this.options.pathOf(resource.name);
    const field = this.options.field ?? '--out';
    await checkOutPath(out, field);
    const lock = await OutputLock.take(out).catch((error: unknown) => {
      throw asPathProblem(error, out, field);
    });
    return new NdjsonWriter(out, field, resource, lock, this.options.crash);
  }

  async close(): Promise<void> {}
}

class NdjsonWriter<S extends CommittedCounts> implements ResourceWriter<S> {
  private file: DurableFile | undefined;
  private readonly statePath: string;

  constructor(
    private readonly out: string,
    private readonly field: string,
    private readonly resource: ResourceSpec<S>,
    private readonly lock: OutputLock,
    private readonly crash: CrashHook | undefined,
  ) {
    this.statePath = statePathOf(out);
  }

  async resume(): Promise<Resumed<S> | undefined> {
    try {
      await removeStaleTemp(this.statePath);
      const text = await readFile(this.statePath, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error; // a path problem (a directory, no permission): named below
      });
      const state = text === undefined ? undefined : this.resource.codec.decode(text, this.statePath);
      if (state === undefined) {
        // A file with no state beside it is not ours to overwrite; an empty one is what a
        // crash before the first commit leaves. The first commit writes the state.
        const size = await stat(this.out).then((s) => s.size, () => 0);
        if (size > 0) throw new ConfigError(this.field, this.out, 'exists and has no state file beside it, so it is not a harvest to resume; remove it or choose another file');
      }
      const file = await DurableFile.open(this.out, state?.bytes ?? 0, this.crash);
      this.file = file;
      if (state === undefined) return undefined;
      return { state, lastRecords: await this.lastRecords(file, state.bytes) };
    } catch (error) {
      throw asPathProblem(error, this.out, this.field);
    }
  }

  async commit(records: readonly string[], state: S): Promise<void> {
    if (!this.file) throw new Error('NdjsonWriter.commit before resume');
    const bytes = ndjsonOf(records);
    if (bytes.length > 0) await this.file.append(bytes);
    await writeAtomically(this.statePath, this.resource.codec.encode(state), this.crash);
  }

  async close(): Promise<void> {
    try {
      await this.file?.close();
    } finally {
      await this.lock.release();
    }
  }

  /** The records at the end of the output, for the loop guard; the last must be JSON, or the output is not what the state says. */
  private async lastRecords(file: DurableFile, bytes: number): Promise<string[]> {
    if (bytes === 0) return [];
    const lines = await file.tail(this.resource.tailRecords, TAIL_BYTES);
    try {
      JSON.parse(lines.at(-1) ?? '');
    } catch {
      throw new StateRefusedError(this.out, `its last line before byte ${bytes} (where its state file says the records end) is not a JSON record: the output or the state was changed since; remove both to start over`);
    }
    return lines;
  }
}

/** Checks an output is a path a harvest can write and resume, before the lock or any request. */
async function checkOutPath(out: string, field: string): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info?.isDirectory()) throw new ConfigError(field, out, 'is a directory; give the path of a file, e.g. --out records.ndjson');
  if (info !== undefined && !info.isFile()) throw new ConfigError(field, out, 'is not a regular file (a device or a pipe cannot be cut back on resume); leave --out out to write to stdout');
  const dir = await stat(dirname(out)).catch(() => undefined);
  if (dir === undefined || !dir.isDirectory()) throw new ConfigError(field, out, `is in a directory that does not exist (${dirname(out)})`);
}

const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of its path is not a directory',
  EROFS: 'the file system is read-only',
  ENOENT: 'it does not exist',
};

/** A file system error on one of the output's files while opening: a ConfigError naming the file, not a raw Node error. */
function asPathProblem(error: unknown, out: string, field: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!(error instanceof Error) || typeof e.code !== 'string' || !(e.code in ERRNO_WORDS)) return error;
  return new ConfigError(field, e.path ?? out, `cannot be used: ${ERRNO_WORDS[e.code]} (${e.code})`);
}
