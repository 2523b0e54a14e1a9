import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { removeStaleTemp, syncDirectory, writeAtomically } from '../atomic-file.js';
import type { CrashHook } from '../crash-points.js';
import { StateRefusedError } from '../harvest-errors.js';
import { OutputLock } from '../output-lock.js';
import type { CommittedCounts, ResourceSpec, ResourceWriter, Resumed, Sink } from './sink.js';
import { tableLayout } from './table-layout.js';

export interface ParquetSinkOptions {
  /** The option that named the sink, for errors. Default `--sink`. */
  field?: string | undefined;
  crash?: CrashHook | undefined;
}

/**
 * The manifest, `<dir>/<resource>/_manifest.json`: the parts committed are
 * `part-000001.parquet` to `part-<parts>.parquet`, and `state` is the resource's state
 * after them. A part numbered above `parts` is what a crash left before its commit.
 */
interface Manifest {
  version: 1;
  resource: string;
  parts: number;
  records: number;
  state: string;
}

/**
 * ParquetSink: a directory, one folder per resource of Parquet part files and a manifest.
 * A commit writes its records as the next part (columns `_sluice_row` INT64, `record` the
 * record's JSON text as served, and one string column per primary-key field), fsyncs it and
 * the folder, then replaces the manifest atomically (temp, fsync, rename) with the part
 * counted and the new state. Resume deletes the parts the manifest does not count.
 *
 * Parquet files are immutable, so the sink only appends: `write: 'merge'` is refused (read
 * the latest version of each key at query time, or use DuckDB or Postgres). Each commit is a
 * part: a harvest of small pages makes many small files (no compaction yet).
 *
 * The writer is hyparquet-writer (pure JavaScript, no native code, one dependency:
 * hyparquet, which reads the last parts back on resume). Both are loaded here, on demand.
 */
export class ParquetSink implements Sink {
  readonly description: string;
  private readonly field: string;

  constructor(
    private readonly dir: string,
    private readonly options: ParquetSinkOptions = {},
  ) {
    this.field = options.field ?? '--sink';
    this.description = `parquet:${dir}`;
  }

  async open<S extends CommittedCounts>(resource: ResourceSpec<S>): Promise<ResourceWriter<S>> {
    tableLayout(resource.name, resource.primaryKey, undefined, `${this.field} table`);
    if (resource.write === 'merge') throw new ConfigError(`${this.field} write`, 'merge', 'is not possible in Parquet, whose files are immutable: use append (and pick the latest version of each key when reading), or a DuckDB or Postgres sink');
    const base = await stat(this.dir).catch(() => undefined);
    if (base !== undefined && !base.isDirectory()) throw new ConfigError(this.field, this.description, 'is not a directory');
    const folder = join(this.dir, resource.name);
    await mkdir(folder, { recursive: true }).catch((error: Error) => {
      throw new ConfigError(this.field, this.description, `cannot be created: ${error.message}`);
    });
    const writer = await loadWriter(this.field);
    const lock = await OutputLock.take(join(folder, MANIFEST));
    return new ParquetWriter(folder, resource, writer, lock, this.options.crash);
  }

  async close(): Promise<void> {}
}

const MANIFEST = '_manifest.json';
const PART = /^part-(\d{6,})\.parquet$/;

function partName(n: number): string {
  return `part-${String(n).padStart(6, '0')}.parquet`;
}

type Writer = typeof import('hyparquet-writer');

async function loadWriter(field: string): Promise<Writer> {
  try {
    return await import('hyparquet-writer');
  } catch {
    throw new ConfigError(field, 'parquet:…', 'needs the hyparquet-writer package: npm install hyparquet-writer');
  }
}

class ParquetWriter<S extends CommittedCounts> implements ResourceWriter<S> {
  private parts = 0;
  private readonly manifestPath: string;

  constructor(
    private readonly folder: string,
    private readonly resource: ResourceSpec<S>,
    private readonly writer: Writer,
    private readonly lock: OutputLock,
    private readonly crash: CrashHook | undefined,
  ) {
    this.manifestPath = join(folder, MANIFEST);
  }

  async resume(): Promise<Resumed<S> | undefined> {
    await removeStaleTemp(this.manifestPath);
    const text = await readFile(this.manifestPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const manifest = text === undefined ? undefined : this.manifestOf(text);
    this.parts = manifest?.parts ?? 0;
    // Parts past the manifest's count were written before a crash, never committed.
    for (const name of await readdir(this.folder)) {
      const n = PART.exec(name)?.[1];
      if (n !== undefined && Number(n) > this.parts) await unlink(join(this.folder, name));
    }
    if (manifest === undefined) return undefined;
    const state = this.resource.codec.decode(manifest.state, `${this.manifestPath} (state)`);
    return { state, lastRecords: await this.lastRecords() };
  }

  async commit(records: readonly string[], state: S): Promise<void> {
    if (records.length > 0) {
      await this.writePart(this.parts + 1, records, state.records - records.length);
      this.crash?.('sink-records-written');
    }
    const manifest: Manifest = { version: 1, resource: this.resource.name, parts: this.parts + (records.length > 0 ? 1 : 0), records: state.records, state: this.resource.codec.encode(state) };
    await writeAtomically(this.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, this.crash);
    this.parts = manifest.parts;
    this.crash?.('sink-committed');
  }

  async close(): Promise<void> {
    await this.lock.release();
  }

  private async writePart(n: number, records: readonly string[], before: number): Promise<void> {
    const columns = [
      { name: '_sluice_row', data: BigInt64Array.from(records, (_, i) => BigInt(before + i + 1)), type: 'INT64' as const, nullable: false },
      { name: 'record', data: [...records], type: 'STRING' as const, nullable: false },
      ...(this.resource.primaryKey ?? []).map((field) => ({ name: field, data: records.map((r) => keyText(r, field)), type: 'STRING' as const })),
    ];
    const bytes = new Uint8Array(this.writer.parquetWriteBuffer({ columnData: columns }));
    const file = await open(join(this.folder, partName(n)), 'w');
    try {
      await file.write(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDirectory(this.folder);
  }

  private manifestOf(text: string): Manifest {
    let manifest: Partial<Manifest>;
    try {
      manifest = JSON.parse(text) as Partial<Manifest>;
    } catch {
      throw new StateRefusedError(this.manifestPath, 'is not a sluice Parquet manifest (not JSON); remove the folder to start over');
    }
    if (manifest.version !== 1 || typeof manifest.state !== 'string' || !Number.isSafeInteger(manifest.parts) || manifest.parts! < 0 || manifest.resource !== this.resource.name) {
      throw new StateRefusedError(this.manifestPath, 'is not a sluice Parquet manifest of this resource (version, parts, resource or state wrong); remove the folder to start over');
    }
    return manifest as Manifest;
  }

  /** Up to `tailRecords` records from the last parts, oldest first. */
  private async lastRecords(): Promise<string[]> {
    const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
    const chunks: string[][] = [];
    let count = 0;
    for (let n = this.parts; n >= 1 && count < this.resource.tailRecords; n--) {
      const path = join(this.folder, partName(n));
      let rows: Array<Record<string, unknown>>;
      try {
        rows = await parquetReadObjects({ file: await asyncBufferFromFile(path), columns: ['record'] });
      } catch (error) {
        throw new StateRefusedError(path, `is counted by the manifest but cannot be read (${(error as Error).message}); the folder was changed since`);
      }
      chunks.unshift(rows.map((row) => String(row.record)));
      count += rows.length;
    }
    return chunks.flat().slice(-this.resource.tailRecords);
  }
}

/** A key field's value as text, as the database sinks keep it (`record->>'id'`); null when absent. */
function keyText(record: string, field: string): string | null {
  const value = (JSON.parse(record) as Record<string, unknown>)[field];
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
