import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';

/**
 * A harvest's database sink as a benchmark reads it: SQL over the tables a `--sink` wrote
 * (src/harvest/sinks/table-layout.ts: `_sluice_row`, `record`), with the few expressions that
 * differ between DuckDB and Postgres given by the sink. Read only: a DuckDB file is attached
 * READ_ONLY, so the reader never checkpoints a write-ahead log a kill left — the next
 * harvest replays it, as it would without the benchmark.
 */
export interface SinkTables {
  /** The `--sink` argument. */
  readonly sink: string;
  /** DuckDB: the file, attached as `name` when a query reads it. */
  readonly file?: string | undefined;
  readonly name: string;
  /** The table of `resource` in SQL, for `query`. */
  table(resource: string): string;
  /** A record's numeric `id` in SQL, of the row alias `t`. */
  readonly id: string;
  /** A record's text in SQL, of the row alias `t` (compared as text: equal content, equal text). */
  readonly text: string;
  /** Integer division in SQL. */
  div(a: string, b: number): string;
  /** Rows of `sql`; `[]` when a table is missing (a harvest killed before it made them). */
  query(sql: string, also?: SinkTables): Promise<Array<Record<string, unknown>>>;
  /** Runs `sql` with write access (the control that shows a check can fail edits a state). */
  write(sql: string): Promise<void>;
  /** The state table in SQL. */
  readonly states: string;
  cleanup(): Promise<void>;
}

/** A DuckDB file `name.duckdb` in `dir`. */
export function duckdbTables(dir: string, name: string): SinkTables {
  const file = join(dir, `${name}.duckdb`);
  return {
    sink: `duckdb:${file}`,
    file,
    name,
    table: (resource) => `${name}."${resource}"`,
    id: "json_extract_string(t.record, '$.id')::BIGINT",
    text: 't.record::VARCHAR',
    div: (a, b) => `(${a}) // ${b}`,
    async query(sql, also) {
      const files = [[name, file], ...(also?.file === undefined ? [] : [[also.name, also.file]])] as const;
      if (files.some(([, f]) => !existsSync(f))) return [];
      const instance = await DuckDBInstance.create(':memory:');
      try {
        const connection = await instance.connect();
        try {
          for (const [alias, f] of files) await connection.run(`ATTACH '${f.replaceAll("'", "''")}' AS ${alias} (READ_ONLY)`);
          return (await connection.runAndReadAll(sql)).getRowObjects();
        } catch (error) {
          if (/does not exist/.test((error as Error).message)) return [];
          throw error;
        } finally {
          connection.closeSync();
        }
      } finally {
        instance.closeSync();
      }
    },
    async write(sql) {
      const instance = await DuckDBInstance.create(':memory:');
      try {
        const connection = await instance.connect();
        try {
          await connection.run(`ATTACH '${file.replaceAll("'", "''")}' AS ${name}`);
          await connection.run(sql);
        } finally {
          connection.closeSync();
        }
      } finally {
        instance.closeSync();
      }
    },
    states: `${name}._sluice_state`,
    cleanup: () => Promise.resolve(),
  };
}

/** A fresh schema of the Postgres database at `url`. */
export function postgresTables(url: string, name: string): SinkTables {
  const schema = `sluice_${name}_${randomBytes(4).toString('hex')}`;
  const sink = new URL(url);
  sink.searchParams.set('schema', schema);
  const run = async (sql: string): Promise<Array<Record<string, unknown>>> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  return {
    sink: sink.href,
    name,
    table: (resource) => `"${schema}"."${resource}"`,
    id: "(t.record->>'id')::bigint",
    text: 't.record::text',
    div: (a, b) => `(${a}) / ${b}`,
    query: (sql) => run(sql).catch((error: Error & { code?: string }) => {
      if (error.code === '42P01' || error.code === '3F000') return []; // no such table, no such schema
      throw error;
    }),
    write: async (sql) => void (await run(sql)),
    states: `"${schema}"._sluice_state`,
    cleanup: async () => void (await run(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
  };
}

/** How a harvest's table compares with a clean run's, by `id` and content. */
export interface TableDiff {
  expected: number;
  rows: number;
  /** Rows beyond the first of an id. */
  duplicates: number;
  /** Ids of the clean run missing here. */
  gaps: number;
  /** Ids here that the clean run does not have. */
  extra: number;
  /** Rows whose record differs from the clean run's of the same id. */
  differ: number;
  /** Rows at another `_sluice_row` than the clean run's (commit order). */
  moved: number;
}

/** Compares `resource` in `chain` with it in `clean`, in the database (a million rows stay there). */
export async function compareTables(clean: SinkTables, chain: SinkTables, resource: string): Promise<TableDiff> {
  const side = (tables: SinkTables): string => `SELECT ${tables.id} AS id, ${tables.text} AS rec, t._sluice_row AS pos FROM ${tables.table(resource)} t`;
  const sql = `WITH c AS (${side(clean)}), x AS (${side(chain)})
    SELECT (SELECT count(*) FROM c) AS expected,
           (SELECT count(*) FROM x) AS n_rows,
           (SELECT count(*) - count(DISTINCT id) FROM x) AS duplicates,
           (SELECT count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM x WHERE x.id = c.id)) AS gaps,
           (SELECT count(*) FROM x WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.id = x.id)) AS extra,
           (SELECT count(*) FROM c JOIN x ON x.id = c.id WHERE x.rec <> c.rec) AS differ,
           (SELECT count(*) FROM c JOIN x ON x.id = c.id WHERE x.pos <> c.pos) AS moved`;
  const row = (await chain.query(sql, clean))[0];
  if (row === undefined) throw new Error(`${resource}: no table to compare`);
  const n = (key: string): number => Number(row[key]);
  return { expected: n('expected'), rows: n('n_rows'), duplicates: n('duplicates'), gaps: n('gaps'), extra: n('extra'), differ: n('differ'), moved: n('moved') };
}
