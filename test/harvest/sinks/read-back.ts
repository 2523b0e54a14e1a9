// What each sink holds, read back the way a user would: records in commit order.
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { query } from './pg-available.js';

/** The records of a Postgres table, parsed, in `_sluice_row` order. */
export async function postgresRecords(schema: string, table = 'records'): Promise<unknown[]> {
  const rows = await query<{ record: unknown }>(`SELECT record FROM "${schema}"."${table}" ORDER BY _sluice_row`);
  return rows.map((row) => row.record);
}

/** The records of a DuckDB table as their JSON text, in `_sluice_row` order. */
export async function duckdbRecords(file: string, table = 'records'): Promise<string[]> {
  const rows = await duckdbQuery(file, `SELECT record::VARCHAR AS record FROM "${table}" ORDER BY _sluice_row`);
  return rows.map((row) => String(row.record));
}

/** A resource's state text in a DuckDB file; undefined before the first commit. */
export async function duckdbState(file: string, resource = 'records'): Promise<string | undefined> {
  if (!existsSync(file)) return undefined;
  const rows = await duckdbQuery(file, `SELECT state FROM _sluice_state WHERE resource = '${resource}'`).catch(() => []);
  return rows[0]?.state === undefined ? undefined : String(rows[0].state);
}

/** Opened read-write (no harvest holds it now): a write-ahead log a kill left is replayed, as the next harvest would. */
async function duckdbQuery(file: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(file);
  try {
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjects();
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** A Parquet resource folder's state text; undefined before the first commit. */
export function parquetState(folder: string): string | undefined {
  const path = join(folder, '_manifest.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { state: string }).state : undefined;
}

/** The next page an offset/page harvest's state says is to commit; 0 before any. */
export function committedIndex(state: string | undefined): number {
  return state === undefined ? 0 : (JSON.parse(state) as { nextIndex: number }).nextIndex;
}

/** The records of a Parquet folder's committed parts (those its manifest counts), in order. */
export async function parquetRecords(folder: string): Promise<string[]> {
  const { parts } = JSON.parse(readFileSync(join(folder, '_manifest.json'), 'utf8')) as { parts: number };
  const names = readdirSync(folder).filter((name) => /^part-\d+\.parquet$/.test(name) && Number(/\d+/.exec(name)![0]) <= parts).sort();
  const records: string[] = [];
  for (const name of names) {
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(join(folder, name)), columns: ['record'] });
    records.push(...rows.map((row) => String(row.record)));
  }
  return records;
}
