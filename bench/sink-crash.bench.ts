/**
 * Exactly-once into a sink under many `kill -9`s: the CLI harvests an offset API (a local
 * server, 1–5 ms a page) into `--sink`, is killed with SIGKILL at a random moment of its run
 * — `--kills` times — and resumed each time, then run to the end. Printed: duplicates and
 * gaps in the final table (against the source: every record once, in order), pages an
 * earlier run had committed that a later run fetched again, kills that landed, and time.
 *
 *   node --import tsx bench/sink-crash.bench.ts [--sink duckdb|postgres|parquet] [--records 100000] [--page 100] [--kills 100]
 *
 * One kill in ten comes during start-up (open, resume); the others after the run's first
 * request, at a delay drawn so each killed run does a little under 1/kills of a clean run's work: the
 * kills fall across the whole harvest. A run that ends before its kill ends the chain.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import pg from 'pg';
import { flag, machineLine } from './lib/index.js';

const argOf = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1]!;
};
const KIND = argOf('sink', 'duckdb');
const RECORDS = flag('records', 100_000);
const PAGE = flag('page', 100);
const KILLS = flag('kills', 100);
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'sluice-sink-crash-'));
const ROOT = new URL('../', import.meta.url).pathname;

const recordOf = (i: number): string => JSON.stringify({ id: i + 1, name: `r${i + 1}`, n: (i * 7919) % 1000, pad: 'x'.repeat(100) });

// The source: every request's offset logged, in arrival order; `onRequest` hears each.
const requested: number[] = [];
let onRequest: (() => void) | undefined;
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const offset = Number(url.searchParams.get('offset'));
  const limit = Number(url.searchParams.get('limit'));
  requested.push(offset);
  onRequest?.();
  const results: string[] = [];
  for (let i = offset; i < Math.min(RECORDS, offset + limit); i++) results.push(recordOf(i));
  setTimeout(() => res.setHeader('content-type', 'application/json').end(`{"count":${RECORDS},"results":[${results.join(',')}]}`), 1 + Math.floor(Math.random() * 4));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const source = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/records?offset={offset}&limit={limit}`;

interface Target {
  sink: string;
  state(): Promise<string | undefined>;
  ids(): Promise<number[]>;
  cleanup(): Promise<void>;
}

async function duckQuery(file: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(file);
  try {
    const c = await instance.connect();
    try {
      return (await c.runAndReadAll(sql)).getRowObjects();
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

async function pgQuery<R extends pg.QueryResultRow>(sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

function target(name: string): Target {
  switch (KIND) {
    case 'duckdb': {
      const file = join(dir, `${name}.duckdb`);
      return {
        sink: `duckdb:${file}`,
        state: async () => (existsSync(file) ? ((await duckQuery(file, "SELECT state FROM _sluice_state WHERE resource = 'records'").catch(() => []))[0]?.state as string | undefined) : undefined),
        ids: async () => (await duckQuery(file, "SELECT json_extract(record, '$.id')::BIGINT AS id FROM records ORDER BY _sluice_row")).map((r) => Number(r.id)),
        cleanup: async () => {},
      };
    }
    case 'postgres': {
      const schema = `sluice_crash_${randomBytes(4).toString('hex')}`;
      const url = new URL(PG_URL);
      url.searchParams.set('schema', schema);
      return {
        sink: url.href,
        state: async () => (await pgQuery<{ state: string }>(`SELECT state FROM "${schema}"._sluice_state WHERE resource = 'records'`).catch(() => []))[0]?.state,
        ids: async () => (await pgQuery<{ id: string }>(`SELECT record->>'id' AS id FROM "${schema}".records ORDER BY _sluice_row`)).map((r) => Number(r.id)),
        cleanup: async () => void (await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
      };
    }
    case 'parquet': {
      const folder = join(dir, name, 'records');
      const manifest = (): { parts: number; state: string } | undefined => (existsSync(join(folder, '_manifest.json')) ? (JSON.parse(readFileSync(join(folder, '_manifest.json'), 'utf8')) as { parts: number; state: string }) : undefined);
      return {
        sink: `parquet:${join(dir, name)}`,
        state: async () => manifest()?.state,
        ids: async () => {
          const ids: number[] = [];
          for (let n = 1; n <= (manifest()?.parts ?? 0); n++) {
            const rows = await parquetReadObjects({ file: await asyncBufferFromFile(join(folder, `part-${String(n).padStart(6, '0')}.parquet`)), columns: ['record'] });
            for (const row of rows) ids.push((JSON.parse(String(row.record)) as { id: number }).id);
          }
          return ids;
        },
        cleanup: async () => {},
      };
    }
    default:
      throw new Error(`--sink must be duckdb, postgres or parquet, not ${KIND}`);
  }
}

/**
 * One CLI run. `kill`: SIGKILL `afterMs` after its first request reaches the source (mid-harvest),
 * or after `afterMs` from the spawn (`duringStartUp`: open and resume, before any request).
 */
function run(sink: string, kill?: { afterMs: number; duringStartUp: boolean }): Promise<{ code: number | null; signal: string | null; ms: number; firstRequestMs: number | undefined; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'harvest', source, '--page-size', String(PAGE), '--concurrency', '8', '--sink', sink, '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let firstRequestMs: number | undefined;
    let killer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (kill?.duringStartUp) killer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
    onRequest = () => {
      if (firstRequestMs !== undefined) return;
      firstRequestMs = performance.now() - started;
      if (kill && !kill.duringStartUp) killer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
    };
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      onRequest = undefined;
      resolve({ code, signal, ms: performance.now() - started, firstRequestMs, stderr });
    });
  });
}

const WARM_UP_MS = 100;
const committedIndex = (state: string | undefined): number => (state === undefined ? 0 : (JSON.parse(state) as { nextIndex: number }).nextIndex);

console.log(`sink crash: ${KIND}, ${RECORDS.toLocaleString('en')} records, ${PAGE} a page, ${KILLS} kills — ${await machineLine()}`);
const targets: Target[] = [];
try {
  const clean = target('clean');
  targets.push(clean);
  const cleanRun = await run(clean.sink);
  if (cleanRun.code !== 0) throw new Error(`the clean run failed: ${cleanRun.stderr}`);
  const cleanIds = await clean.ids();
  const startUp = cleanRun.firstRequestMs ?? 1000;
  const work = cleanRun.ms - startUp;
  console.log(`clean run: ${(cleanRun.ms / 1000).toFixed(1)} s (${(startUp / 1000).toFixed(1)} s of it start-up), ${cleanIds.length.toLocaleString('en')} records`);

  const chain = target('chain');
  targets.push(chain);
  let killed = 0;
  let refetched = 0;
  let runs = 0;
  const started = performance.now();
  while (killed < KILLS && runs < KILLS * 3) {
    const committed = committedIndex(await chain.state());
    const from = requested.length;
    // One kill in ten during start-up (open, resume); the rest mid-harvest, each run doing a little under 1/KILLS of the work, so the kills spread over the whole harvest.
    const duringStartUp = Math.random() < 0.1;
    // A run's first commit comes ~WARM_UP after its first request (the first page goes alone, then the rest in parallel).
    const result = await run(chain.sink, { duringStartUp, afterMs: Math.random() * (duringStartUp ? startUp : (1.5 * work) / KILLS + 2 * WARM_UP_MS) });
    runs++;
    refetched += requested.slice(from).filter((offset) => offset < committed * PAGE).length;
    if (result.signal === 'SIGKILL') killed++;
    else if (result.code !== 0) throw new Error(`run ${runs} failed: ${result.stderr}`);
    else break; // it finished before its kill: the chain is done
  }
  const committedBeforeLast = committedIndex(await chain.state());
  const fromLast = requested.length;
  const last = await run(chain.sink);
  if (last.code !== 0) throw new Error(`the last run failed: ${last.stderr}`);
  refetched += requested.slice(fromLast).filter((offset) => offset < committedBeforeLast * PAGE).length;
  const ids = await chain.ids();
  const distinct = new Set(ids);
  const duplicates = ids.length - distinct.size;
  const gaps = RECORDS - distinct.size;
  const inOrder = ids.every((id, i) => id === i + 1);
  const equal = ids.length === cleanIds.length && ids.every((id, i) => id === cleanIds[i]);
  const pages = Math.ceil(RECORDS / PAGE);
  console.log(`kill -9: ${killed} of ${runs} runs killed (${((100 * committedBeforeLast) / pages).toFixed(0)} % of the pages committed by then), then resumed to the end; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  console.log(`final table: ${ids.length.toLocaleString('en')} records, ${duplicates} duplicates, ${gaps} gaps, in source order: ${inOrder}, equal to the clean run: ${equal}`);
  console.log(`committed pages fetched again: ${refetched}`);
  if (duplicates !== 0 || gaps !== 0 || refetched !== 0 || !equal) process.exitCode = 1;
} finally {
  for (const t of targets) await t.cleanup();
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
