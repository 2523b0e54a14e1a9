// What each sink holds, read back the way a user would: records in commit order.
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { query } from './pg-available.js';

/** The records of a Postgres table, parsed, in `_sluice_row` order. */
export async function postgresRecords(schema: string, table = 'records'): Promise<unknown[]> {
  const rows = await query<{ record: unknown }>(`SELECT record FROM "${schema}"."${table}" ORDER BY _sluice_row`);
  return rows.map((row) => row.record);
}

/** The records of a DuckDB table as their JSON text, in `_sluice_row` order. */
export async function duckdbRecords(file: string, table = 'records'): Promise<string[]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(`SELECT record::VARCHAR AS record FROM "${table}" ORDER BY _sluice_row`);
    connection.closeSync();
    return reader.getRowObjects().map((row) => String(row.record));
  } finally {
    instance.closeSync();
  }
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
