import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { CrashHook } from '../crash-points.js';
import { OutputLock } from '../output-lock.js';
import type { CommittedCounts, ResourceSpec, ResourceWriter, Resumed, Sink } from './sink.js';
import { tableLayout, type TableLayout } from './table-layout.js';

export interface DuckDbSinkOptions {
  /** The option that named the sink, for errors. Default `--sink`. */
  field?: string | undefined;
  crash?: CrashHook | undefined;
}

/**
 * DuckDbSink: a local DuckDB file, each resource a table of JSON records (table-layout.ts,
 * the same layout as Postgres), created if absent. A commit is one transaction: the records
 * appended to a staging table (DuckDB's appender, the fast way in), moved into the
 * resource's table — appended, or with `merge` upserted by primary key, the last version in
 * a commit winning — and the resource's row of `_sluice_state` replaced. A crash before
 * COMMIT leaves the previous commit, whole.
 *
 * One harvest writes the file at a time: DuckDB locks it for one process, and `<file>.lock`
 * (as for NDJSON) names the holder. `@duckdb/node-api` is loaded here, on demand.
 */
export class DuckDbSink implements Sink {
  readonly description: string;
  private instance: DuckDBInstance | undefined;
  private lock: OutputLock | undefined;
  private readonly field: string;

  constructor(
    private readonly path: string,
    private readonly options: DuckDbSinkOptions = {},
  ) {
    this.field = options.field ?? '--sink';
    this.description = `duckdb:${path}`;
  }

  async open<S extends CommittedCounts>(resource: ResourceSpec<S>): Promise<ResourceWriter<S>> {
    const layout = tableLayout(resource.name, resource.primaryKey, resource.write, `${this.field} table`);
    const instance = await this.instanceOf();
    const connection = await instance.connect();
    try {
      await createTables(connection, layout);
      return new DuckDbWriter(connection, layout, resource, `${this.description} _sluice_state (resource ${resource.name})`, this.field, this.options.crash);
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  }

  async close(): Promise<void> {
    try {
      this.instance?.closeSync();
    } finally {
      await this.lock?.release();
    }
  }

  /** The database, opened once for every resource's writer. */
  private async instanceOf(): Promise<DuckDBInstance> {
    if (this.instance) return this.instance;
    const dir = await stat(dirname(resolve(this.path))).catch(() => undefined);
    if (!dir?.isDirectory()) throw new ConfigError(this.field, this.description, `is in a directory that does not exist (${dirname(this.path)})`);
    const duckdb = await loadDuckDb(this.field);
    this.lock = await OutputLock.take(this.path);
    try {
      this.instance = await duckdb.DuckDBInstance.create(this.path, { memory_limit: DUCKDB_WRITER_MEMORY_LIMIT });
    } catch (error) {
      await this.lock.release();
      this.lock = undefined;
      throw new ConfigError(this.field, this.description, `cannot be opened: ${(error as Error).message}`);
    }
    return this.instance;
  }
}

/**
 * The memory a harvest's DuckDB database may cache. A harvest only writes; at DuckDB's default
 * (80 % of the machine's memory) the blocks it had written stayed cached and the process grew
 * with the table — 1M records: from ~300 MB to ~470 MB over the run. A commit needs a few MB.
 * (A merge's unique index is held apart from this and grows with the keys.)
 */
export const DUCKDB_WRITER_MEMORY_LIMIT = '64MB';

type DuckDb = typeof import('@duckdb/node-api');

async function loadDuckDb(field: string): Promise<DuckDb> {
  try {
    return await import('@duckdb/node-api');
  } catch {
    throw new ConfigError(field, 'duckdb:…', 'needs the @duckdb/node-api package: npm install @duckdb/node-api');
  }
}

async function createTables(connection: DuckDBConnection, layout: TableLayout): Promise<void> {
  const keys = layout.keys.map((key) => `, ${key} VARCHAR${layout.merge ? ' NOT NULL' : ''}`).join('');
  const unique = layout.merge ? `, UNIQUE (${layout.keys.join(', ')})` : '';
  await connection.run(`CREATE TABLE IF NOT EXISTS ${layout.table} (_sluice_row BIGINT NOT NULL, record JSON NOT NULL${keys}${unique})`);
  await connection.run('CREATE TABLE IF NOT EXISTS _sluice_state (resource VARCHAR PRIMARY KEY, state VARCHAR NOT NULL, committed_at TIMESTAMP NOT NULL DEFAULT current_timestamp)');
  // Per connection: each writer stages its own commit.
  await connection.run('CREATE TEMP TABLE IF NOT EXISTS _sluice_in (ord BIGINT NOT NULL, record VARCHAR NOT NULL)');
}

class DuckDbWriter<S extends CommittedCounts> implements ResourceWriter<S> {
  private readonly insert: string;

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly layout: TableLayout,
    private readonly resource: ResourceSpec<S>,
    private readonly where: string,
    private readonly field: string,
    private readonly crash: CrashHook | undefined,
  ) {
    const keyValues = layout.fields.map((f) => `, json_extract_string(record, '$.${f}')`).join('');
    const columns = ['_sluice_row', 'record', ...layout.keys].join(', ');
    const select = `SELECT $1 + ord, record::JSON${keyValues} FROM _sluice_in`;
    if (layout.merge) {
      // ON CONFLICT may touch a row once per statement: of one key's versions in a commit, the last goes in.
      const keyOf = layout.fields.map((f) => `json_extract_string(record, '$.${f}')`).join(', ');
      this.insert = `INSERT INTO ${layout.table} (${columns}) ${select} QUALIFY row_number() OVER (PARTITION BY ${keyOf} ORDER BY ord DESC) = 1 ON CONFLICT (${layout.keys.join(', ')}) DO UPDATE SET record = EXCLUDED.record, _sluice_row = EXCLUDED._sluice_row`;
    } else {
      this.insert = `INSERT INTO ${layout.table} (${columns}) ${select} ORDER BY ord`;
    }
  }

  async resume(): Promise<Resumed<S> | undefined> {
    const found = await this.connection.runAndReadAll('SELECT state FROM _sluice_state WHERE resource = $1', [this.resource.name]);
    const text = found.getRowObjects()[0]?.state;
    if (typeof text !== 'string') {
      const any = await this.connection.runAndReadAll(`SELECT 1 FROM ${this.layout.table} LIMIT 1`);
      if (any.currentRowCount > 0) throw new ConfigError(this.field, this.where, 'the table has records but no harvest state: it is not a harvest to resume; drop it or choose another file');
      return undefined;
    }
    const state = this.resource.codec.decode(text, this.where);
    const last = await this.connection.runAndReadAll(`SELECT record::VARCHAR AS record FROM ${this.layout.table} ORDER BY _sluice_row DESC LIMIT ${Math.max(0, Math.floor(this.resource.tailRecords))}`);
    const lastRecords = last.getRowObjects().map((row) => String(row.record)).reverse();
    return { state, lastRecords };
  }

  async commit(records: readonly string[], state: S): Promise<void> {
    const { connection } = this;
    await connection.run('BEGIN TRANSACTION');
    try {
      if (records.length > 0) {
        const appender = await connection.createAppender('_sluice_in', 'main', 'temp');
        for (let i = 0; i < records.length; i++) {
          appender.appendBigInt(BigInt(i + 1));
          appender.appendVarchar(records[i]!);
          appender.endRow();
        }
        appender.closeSync();
        await connection.run(this.insert, [BigInt(state.records - records.length)]);
        await connection.run('DELETE FROM _sluice_in');
        this.crash?.('sink-records-written');
      }
      await connection.run('INSERT INTO _sluice_state (resource, state) VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE SET state = EXCLUDED.state, committed_at = now()', [this.resource.name, this.resource.codec.encode(state)]);
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => {});
      throw error;
    }
    this.crash?.('sink-committed');
  }

  async close(): Promise<void> {
    this.connection.closeSync();
  }
}
