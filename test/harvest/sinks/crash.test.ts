import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SINK_CRASH_POINTS, type CrashPoint } from '../../../src/harvest/crash-points.js';
import { tempDir } from '../helpers.js';
import { runCli, type CliRun } from '../spawn-cli.js';
import { dropSchema, query, sinkUrl, skipPostgres, uniqueSchema } from './pg-available.js';
import { committedIndex, duckdbRecords, duckdbState, parquetRecords, parquetState, postgresRecords } from './read-back.js';

/** A seeded generator, so a failure can be replayed: the seed is in the suite's name. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
const RECORDS = 3000;
const PAGE = 15;

/** Record `i` of the source: the same every run. */
const recordOf = (i: number): { id: number; name: string; n: number } => ({ id: i + 1, name: `r${i + 1}`, n: (i * 7919) % 1000 });

/**
 * The source: offset pages of RECORDS records after 5–30 ms, every request logged by the
 * path it came to (one path per chain), so each run's requests can be told apart.
 */
class Source {
  readonly requests = new Map<string, number[]>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const random = lcg(SEED + 1);
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      const log = this.requests.get(url.pathname) ?? [];
      log.push(offset);
      this.requests.set(url.pathname, log);
      const results: Array<ReturnType<typeof recordOf>> = [];
      for (let i = offset; i < Math.min(RECORDS, offset + limit); i++) results.push(recordOf(i));
      setTimeout(() => res.setHeader('content-type', 'application/json').end(JSON.stringify({ count: RECORDS, results })), 5 + Math.floor(random() * 25));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A sink under test: where a chain writes, what it committed, and the records it holds. */
interface Target {
  sink: string;
  /** Index of the next page to commit, from the sink's state: the pages before it must never be fetched again. */
  committed(): Promise<number>;
  records(): Promise<unknown[]>;
}

interface SinkChain {
  name: string;
  skip: string | false;
  points: readonly CrashPoint[];
  target(chain: string): Promise<Target>;
}

const schemas: string[] = [];
const CHAINS: SinkChain[] = [
  {
    name: 'DuckDB',
    skip: false,
    points: SINK_CRASH_POINTS,
    async target() {
      const file = join(tempDir(), 'out.duckdb');
      return { sink: `duckdb:${file}`, committed: async () => committedIndex(await duckdbState(file)), records: async () => (await duckdbRecords(file)).map((r) => JSON.parse(r) as unknown) };
    },
  },
  {
    name: 'Parquet',
    skip: false,
    points: [...SINK_CRASH_POINTS, 'state-temp-partial', 'state-before-rename'],
    async target() {
      const dir = tempDir();
      return { sink: `parquet:${dir}`, committed: async () => committedIndex(parquetState(join(dir, 'records'))), records: async () => (await parquetRecords(join(dir, 'records'))).map((r) => JSON.parse(r) as unknown) };
    },
  },
  {
    name: 'Postgres',
    skip: skipPostgres,
    points: SINK_CRASH_POINTS,
    async target() {
      const schema = uniqueSchema('crash');
      schemas.push(schema);
      const state = async (): Promise<string | undefined> => {
        const rows = await query<{ state: string }>(`SELECT state FROM "${schema}"._sluice_state WHERE resource = 'records'`).catch(() => []);
        return rows[0]?.state;
      };
      return { sink: sinkUrl(schema), committed: async () => committedIndex(await state()), records: () => postgresRecords(schema) };
    },
  },
];

/**
 * kill -9 at random instants, into every sink: each chain harvests into one sink, is killed
 * again and again — by the env-gated hook between a commit's records and its state, or
 * after it, or by SIGKILL after a random delay — and resumed each time. The final table must
 * hold every record of the source once, in order (0 duplicates, 0 gaps), and no run may
 * fetch a page an earlier run had committed.
 */
describe(`harvest into a sink survives kill -9 (seed ${SEED})`, () => {
  const source = new Source();
  before(() => source.start());
  after(async () => {
    await source.close();
    for (const schema of schemas) await dropSchema(schema);
  });

  for (const chain of CHAINS) {
    it(`${chain.name}: 6 crashes, resumed each time, end with every record once and no committed page fetched again`, { skip: chain.skip }, async () => {
      const random = lcg(SEED + chain.name.length);
      const kills: string[] = [];
      const refetched: number[] = [];
      let killed = 0;
      let target = await chain.target(chain.name);
      let path = '';
      let args: string[] = [];
      let outputs = 0;
      const begin = (): void => {
        path = `/${chain.name.toLowerCase()}-${outputs++}/records`;
        args = ['harvest', `${source.url}${path}?offset={offset}&limit={limit}`, '--page-size', String(PAGE), '--concurrency', '4', '--sink', target.sink, '--quiet'];
      };
      const check = async (): Promise<void> => {
        const held = (await target.records()) as Array<{ id: number }>;
        const ids = held.map((r) => r.id);
        const duplicates = ids.length - new Set(ids).size;
        const gaps = RECORDS - new Set(ids).size;
        assert.deepEqual({ duplicates, gaps, refetched }, { duplicates: 0, gaps: 0, refetched: [] }, kills.join(', '));
        assert.deepEqual(held, Array.from({ length: RECORDS }, (_, i) => recordOf(i)), 'in the order of the source');
      };
      begin();
      for (let attempt = 0; killed < 6 && attempt < 16; attempt++) {
        const committed = await target.committed();
        const from = source.requests.get(path)?.length ?? 0;
        let run: CliRun;
        if (attempt % 3 !== 2) {
          const point = chain.points[Math.floor(random() * chain.points.length)]!;
          // Pages finishing together are committed together: a run passes each point fewer times than it has pages, so aim early.
          const n = 1 + Math.floor(random() * 6);
          run = await runCli(args, { env: { SLUICE_HARVEST_CRASH: `${point}:${n}` } });
          kills.push(`${point}:${n}→${run.signal ?? run.code}`);
        } else {
          const delay = 700 + Math.floor(random() * 1200); // the child needs ~0.5 s to start
          run = await runCli(args, { killAfterMs: delay });
          kills.push(`after ${delay} ms→${run.signal ?? run.code}`);
        }
        assert.ok(run.signal === 'SIGKILL' || run.code === 0, `${kills.join(', ')}: ${run.stderr}`);
        refetched.push(...(source.requests.get(path) ?? []).slice(from).filter((offset) => offset < committed * PAGE));
        if (run.signal === 'SIGKILL') {
          killed++;
        } else {
          // It finished before the kill came: check it, and go on into a new sink.
          await check();
          target = await chain.target(`${chain.name}-${attempt}`);
          begin();
        }
      }
      const committed = await target.committed();
      const from = source.requests.get(path)?.length ?? 0;
      const last = await runCli(args);
      assert.equal(last.code, 0, `${kills.join(', ')}: ${last.stderr}`);
      refetched.push(...(source.requests.get(path) ?? []).slice(from).filter((offset) => offset < committed * PAGE));
      await check();
      assert.ok(killed >= 5, `only ${killed} runs were killed: ${kills.join(', ')}`);
    });
  }
});
