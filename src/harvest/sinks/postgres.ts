import type { Client } from 'pg';
import { ConfigError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import type { CrashHook } from '../crash-points.js';
import { OutputLockedError } from '../harvest-errors.js';
import type { CommittedCounts, ResourceSpec, ResourceWriter, Resumed, Sink } from './sink.js';
import { jsonArrayOf, quote, tableLayout, type TableLayout } from './table-layout.js';

export interface PostgresSinkOptions {
  /** The option that named the sink, for errors. Default `--sink`. */
  field?: string | undefined;
  crash?: CrashHook | undefined;
}

/**
 * PostgresSink: each resource a table of JSONB records (table-layout.ts) in the schema the
 * URL names (`?schema=raw`, default `public`), created if absent. A commit is one
 * transaction: the records inserted — appended, or with `merge` upserted by primary key
 * (`INSERT … ON CONFLICT (key) DO UPDATE`, the last version in a commit winning) — and the
 * resource's row of `_sluice_state` replaced. A crash before COMMIT leaves the previous
 * commit, whole; resume reads the state row.
 *
 * One writer per resource: a session advisory lock on the schema and table, held by the
 * writer's connection (so a killed harvest's lock goes with its connection).
 *
 * `pg` is loaded here, on demand (an optional peer).
 */
export class PostgresSink implements Sink {
  readonly description: string;
  private readonly schema: string;
  private readonly connectionString: string;

  constructor(
    url: string,
    private readonly options: PostgresSinkOptions = {},
  ) {
    const field = options.field ?? '--sink';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(field, redactUrl(url), 'is not a URL; e.g. postgres://user@127.0.0.1:5432/db?schema=raw');
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new ConfigError(field, redactUrl(url), 'is not a postgres:// URL');
    this.schema = parsed.searchParams.get('schema') ?? 'public';
    tableLayout(this.schema, undefined, undefined, `${field} schema`);
    parsed.searchParams.delete('schema'); // ours, not the driver's
    this.connectionString = parsed.href;
    this.description = redactUrl(parsed.href);
  }

  async open<S extends CommittedCounts>(resource: ResourceSpec<S>): Promise<ResourceWriter<S>> {
    const field = this.options.field ?? '--sink';
    const layout = tableLayout(resource.name, resource.primaryKey, resource.write, `${field} table`);
    const pg = await loadPg(field);
    const client = new pg.Client({ connectionString: this.connectionString });
    // A connection lost mid-run is reported by the next query; unheard, the event would crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      throw new ConfigError(field, this.description, `cannot connect: ${(error as Error).message}`);
    }
    try {
      const name = `${this.schema}.${resource.name}`;
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext('sluice harvest'), hashtext($1)) AS locked", [name]);
      if (!rows[0]?.locked) throw new OutputLockedError(`${this.description}: table ${name} is written by another harvest now (it holds an advisory lock on it)`);
      await createTables(client, quote(this.schema), layout);
      return new PostgresWriter(client, quote(this.schema), layout, resource, `${this.description} ${this.schema}._sluice_state (resource ${resource.name})`, field, this.options.crash);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {}
}

type Pg = typeof import('pg');

async function loadPg(field: string): Promise<Pg> {
  try {
    const module = (await import('pg')) as Pg & { default?: Pg };
    return module.default ?? module;
  } catch {
    throw new ConfigError(field, 'postgres://…', 'needs the pg package: npm install pg');
  }
}

async function createTables(client: Client, schema: string, layout: TableLayout): Promise<void> {
  const keys = layout.fields.map((f, i) => `, ${layout.keys[i]} text GENERATED ALWAYS AS (record->>'${f}') STORED${layout.merge ? ' NOT NULL' : ''}`).join('');
  const unique = layout.merge ? `, UNIQUE (${layout.keys.join(', ')})` : '';
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.${layout.table} (_sluice_row bigint NOT NULL, record jsonb NOT NULL${keys}${unique})`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}._sluice_state (resource text PRIMARY KEY, state text NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())`);
}

class PostgresWriter<S extends CommittedCounts> implements ResourceWriter<S> {
  private readonly insert: string;

  constructor(
    private readonly client: Client,
    private readonly schema: string,
    private readonly layout: TableLayout,
    private readonly resource: ResourceSpec<S>,
    private readonly where: string,
    private readonly field: string,
    private readonly crash: CrashHook | undefined,
  ) {
    const target = `${schema}.${layout.table}`;
    const rows = 'jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(value, ord)';
    if (layout.merge) {
      // ON CONFLICT may touch a row once per statement: of one key's versions in a commit, the last goes in.
      const keyOf = layout.fields.map((f) => `value->>'${f}'`).join(', ');
      this.insert = `INSERT INTO ${target} (_sluice_row, record) SELECT DISTINCT ON (${keyOf}) $2::bigint + ord, value FROM ${rows} ORDER BY ${keyOf}, ord DESC ON CONFLICT (${layout.keys.join(', ')}) DO UPDATE SET record = EXCLUDED.record, _sluice_row = EXCLUDED._sluice_row`;
    } else {
      this.insert = `INSERT INTO ${target} (_sluice_row, record) SELECT $2::bigint + ord, value FROM ${rows}`;
    }
  }

  async resume(): Promise<Resumed<S> | undefined> {
    const { rows } = await this.client.query<{ state: string }>(`SELECT state FROM ${this.schema}._sluice_state WHERE resource = $1`, [this.resource.name]);
    const text = rows[0]?.state;
    if (text === undefined) {
      const { rowCount } = await this.client.query(`SELECT 1 FROM ${this.schema}.${this.layout.table} LIMIT 1`);
      if (rowCount) throw new ConfigError(this.field, this.where, 'the table has records but no harvest state: it is not a harvest to resume; drop it or choose another schema');
      return undefined;
    }
    // The loop guard's memory of the last records stays empty: jsonb keeps no record's text as it came.
    return { state: this.resource.codec.decode(text, this.where), lastRecords: [] };
  }

  async commit(records: readonly string[], state: S): Promise<void> {
    const { client } = this;
    await client.query('BEGIN');
    try {
      if (records.length > 0) {
        await client.query(this.insert, [jsonArrayOf(records), state.records - records.length]);
        this.crash?.('sink-records-written');
      }
      await client.query(`INSERT INTO ${this.schema}._sluice_state (resource, state) VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE SET state = EXCLUDED.state, committed_at = now()`, [this.resource.name, this.resource.codec.encode(state)]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    this.crash?.('sink-committed');
  }

  async close(): Promise<void> {
    await this.client.end(); // the advisory lock goes with the session
  }
}
