/**
 * Records/s into each sink, apart from any API: the engine's commits (records and state
 * together, durable when they resolve) replayed against each sink — NDJSON (`--out`), DuckDB,
 * Parquet, Postgres — appending, and merging by primary key where the sink can. Each commit
 * holds `--batch` records (100: a page committed alone; 1,000: ten pages finished together);
 * the records are the mock's, about 170 bytes of JSON each.
 *
 *   node --import tsx bench/sinks.bench.ts [--records 50000] [--batch 100] [--batch2 1000]
 *
 * Postgres is measured when 127.0.0.1:5432 (or PG_URL) answers; its schema is dropped after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDbSink } from '../src/harvest/sinks/duckdb.js';
import { NdjsonSink } from '../src/harvest/sinks/ndjson.js';
import { ParquetSink } from '../src/harvest/sinks/parquet.js';
import { PostgresSink } from '../src/harvest/sinks/postgres.js';
import { ndjsonLength, type Sink, type StateCodec } from '../src/harvest/sinks/sink.js';
import { flag, machineLine } from './lib/index.js';

const RECORDS = flag('records', 50_000);
const BATCHES = [flag('batch', 100), flag('batch2', 1000)];
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'sluice-sinks-bench-'));

interface State {
  records: number;
  bytes: number;
  /** About the size of a real harvest state: a few hundred bytes. */
  note: string;
}
const codec: StateCodec<State> = { encode: (s) => JSON.stringify(s), decode: (t) => JSON.parse(t) as State };

const PLANS = ['free', 'pro', 'team', 'enterprise'];
function recordText(i: number): string {
  return JSON.stringify({ id: i + 1, name: `User ${i + 1}`, plan: PLANS[i % 4], email: `user.${i + 1}@example.com`, score: (i * 37) % 10000 / 100, active: i % 3 !== 0, country: 'PL', created_at: new Date(1_577_836_800_000 + i * 1000).toISOString() });
}
const records = Array.from({ length: RECORDS }, (_, i) => recordText(i));

async function measure(name: string, sink: Sink, batch: number, merge: boolean): Promise<number> {
  const writer = await sink.open({ name: 'bench', codec, tailRecords: 0, ...(merge ? { primaryKey: ['id'], write: 'merge' as const } : {}) });
  await writer.resume();
  let state: State = { records: 0, bytes: 0, note: 'x'.repeat(300) };
  await writer.commit([], state);
  const start = performance.now();
  for (let at = 0; at < RECORDS; at += batch) {
    const chunk = records.slice(at, at + batch);
    state = { ...state, records: state.records + chunk.length, bytes: state.bytes + ndjsonLength(chunk) };
    await writer.commit(chunk, state);
  }
  const seconds = (performance.now() - start) / 1000;
  await writer.close();
  await sink.close();
  const perSecond = RECORDS / seconds;
  console.log(`${name.padEnd(28)} batch ${String(batch).padStart(5)}  ${Math.round(perSecond).toLocaleString('en').padStart(9)} records/s  (${(seconds * 1000 / (RECORDS / batch)).toFixed(2)} ms a commit)`);
  return perSecond;
}

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

console.log(`sinks — ${await machineLine()}`);
console.log(`${RECORDS.toLocaleString('en')} records of ~${Math.round(ndjsonLength(records) / RECORDS)} bytes; every commit durable (fsync / COMMIT) before the next`);
const havePg = await postgresUp();
const schemas: string[] = [];
try {
  for (const batch of BATCHES) {
    let n = 0;
    const place = (): string => join(dir, `${batch}-${n++}`);
    await measure('NDJSON (--out)', new NdjsonSink({ pathOf: () => `${place()}.ndjson` }), batch, false);
    await measure('DuckDB append', new DuckDbSink(`${place()}.duckdb`), batch, false);
    await measure('DuckDB merge by id', new DuckDbSink(`${place()}.duckdb`), batch, true);
    await measure('Parquet', new ParquetSink(place()), batch, false);
    if (havePg) {
      const schema = (): string => {
        const name = `sluice_bench_${randomBytes(4).toString('hex')}`;
        schemas.push(name);
        const url = new URL(PG_URL);
        url.searchParams.set('schema', name);
        return url.href;
      };
      await measure('Postgres append', new PostgresSink(schema()), batch, false);
      await measure('Postgres merge by id', new PostgresSink(schema()), batch, true);
    } else {
      console.log(`Postgres: not reachable at ${PG_URL}, skipped`);
    }
  }
} finally {
  for (const schema of schemas) await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
}
