/**
 * Exactly-once of a two-resource source under many `kill -9`s, and its memory (issue 17):
 * `sluice harvest --config` pulls PARENTS repositories from the embedded mock (a page of 100
 * at a time, by its Link header) and each one's CHILDREN issues through
 * `{resources.repos.name}` — 10,000 × 100 = 1M child records by default — into `--sink`.
 *
 *   node --import tsx bench/source-crash.bench.ts [--sink duckdb|postgres] [--parents 10000] [--children 100] [--kills 100] [--concurrency 8] [--merge] [--control] [--memory-only]
 *
 * 1. A clean run, its RSS read from /proc/PID/status every 100 ms: the peak of the run's
 *    first half against its second's (flat: within 10 %).
 *    `--memory-only` stops here.
 * 2. A chain: the CLI killed with SIGKILL `--kills` times and resumed each time, then run to
 *    the end. Most kills come after a random delay drawn from the work left, so they spread
 *    over the whole harvest; one in ten during start-up (open, resume); one in four at a
 *    random commit instant (SLUICE_HARVEST_CRASH: records written, not committed; committed;
 *    the parents' log half written, written, fsynced).
 * 3. The chain's tables against the clean run's, in the database, by `id` and content:
 *    duplicates, gaps, records that differ or sit at another row.
 * 4. Pages committed before a kill fetched again after it — counted at a proxy in front of
 *    the mock, against the pages whose records the tables held when the kill had landed
 *    (read from the tables, not from the harvest's state, so a state that lies is caught).
 *
 * `--control` shows the checks can fail: once, after half the kills, it sets the
 * children's state back five parents (as a resume that forgot a commit would), and the run
 * must then report five parents' pages fetched again, and with them duplicates (appended)
 * or rows at another place (merged). It edits the state the code on main writes
 * (`sync.parentsDone`); on another state it says it could not.
 *
 * Without `--merge` the resources have no primary key and are appended: a record written
 * twice stays twice, so the duplicate count can see it. `--merge` gives them `id` as key.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockApi } from '../src/http/mock/index.js';
import { countingProxy } from './lib/counting-proxy.js';
import { flag, machineLine } from './lib/index.js';
import { compareTables, duckdbTables, postgresTables, type SinkTables, type TableDiff } from './lib/sink-tables.js';

const argOf = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1]!;
};
const KIND = argOf('sink', 'duckdb');
const PARENTS = flag('parents', 10_000);
const CHILDREN = flag('children', 100);
const KILLS = flag('kills', 100);
const CONCURRENCY = flag('concurrency', 8);
const MERGE = process.argv.includes('--merge');
const CONTROL = process.argv.includes('--control');
const MEMORY_ONLY = process.argv.includes('--memory-only');
const PAGE = 100; // the mock's largest page
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = new URL('../', import.meta.url).pathname;
/** The mock's issue id is repo × 1,000,000 + number (src/http/mock/tree.ts): a child names its parent. */
const ISSUE_ID_BASE = 1_000_000;
const PARENT_PAGES = Math.ceil(PARENTS / PAGE);
const CHILD_PAGES = Math.max(1, Math.ceil(CHILDREN / PAGE));
const TOTAL_PAGES = PARENT_PAGES + PARENTS * CHILD_PAGES;
/** Points of a commit a kill may be aimed at (src/harvest/crash-points.ts). */
const COMMIT_POINTS = ['sink-records-written', 'sink-committed', 'output-partial', 'output-written', 'output-synced'];

const dir = mkdtempSync(join(tmpdir(), 'sluice-source-crash-'));
const mock = await startMockApi({ tree: { repos: PARENTS, issuesPerRepo: CHILDREN, commentsPerIssue: 0 }, latency: '1ms-5ms' });
const proxy = await countingProxy(mock.url);
const configFile = join(dir, 'source.json');
writeFileSync(
  configFile,
  JSON.stringify({
    client: { baseUrl: proxy.url, concurrency: CONCURRENCY },
    defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: PAGE }, ...(MERGE ? { primaryKey: ['id'] } : {}) },
    resources: { repos: { path: '/repos' }, issues: { path: '/repos/{resources.repos.name}/issues' } },
  }),
);

function tablesOf(name: string): SinkTables {
  if (KIND === 'duckdb') return duckdbTables(dir, name);
  if (KIND === 'postgres') return postgresTables(PG_URL, name);
  throw new Error(`--sink must be duckdb or postgres, not ${KIND}`);
}

/** A page a request asks for, as `repos:P` or `issues:REPO:P`; undefined for anything else. */
function pageOf(url: string): string | undefined {
  const u = new URL(url, 'http://x');
  const page = u.searchParams.get('page') ?? '1';
  if (u.pathname === '/repos') return `repos:${page}`;
  const child = /^\/repos\/repo-(\d+)\/issues$/.exec(u.pathname);
  return child ? `issues:${child[1]}:${page}` : undefined;
}

/** The pages whose records the tables hold: a commit holds whole pages, and a child's pages go in one commit with its parent's others. */
async function committedPages(tables: SinkTables): Promise<Set<string>> {
  const pages = new Set<string>();
  for (const row of await tables.query(`SELECT DISTINCT ${tables.div(`${tables.id} - 1`, PAGE)} + 1 AS p FROM ${tables.table('repos')} t`)) pages.add(`repos:${String(row.p)}`);
  for (const row of await tables.query(`SELECT DISTINCT ${tables.div(tables.id, ISSUE_ID_BASE)} AS r FROM ${tables.table('issues')} t`)) {
    for (let p = 1; p <= CHILD_PAGES; p++) pages.add(`issues:${String(row.r)}:${p}`);
  }
  return pages;
}

/**
 * How long a resumed run goes, from its first request, before its work counts: start-up
 * left after the first request, the first commit. Learnt from the timed kills that got work done (each one's
 * delay less the work it got done), so the kills spread over the whole harvest rather than
 * crowding its start.
 */
const warmUp = {
  sum: 0,
  n: 0,
  ms(): number {
    return this.n === 0 ? 100 : this.sum / this.n;
  },
  learn(idleMs: number): void {
    this.sum += Math.max(0, idleMs);
    this.n++;
  },
};

/** The control: the children's state set back `n` parents, as a resume that lost a commit would read it. */
async function forgetParents(tables: SinkTables, n: number): Promise<string> {
  const text = (await tables.query(`SELECT state FROM ${tables.states} WHERE resource = 'issues'`))[0]?.state;
  const state = typeof text === 'string' ? (JSON.parse(text) as { sync?: { parentsDone?: number } }) : undefined;
  const done = state?.sync?.parentsDone;
  if (state === undefined || typeof done !== 'number' || done < n) return 'not applied (no sync.parentsDone of 5 or more in the issues state)';
  state.sync!.parentsDone = done - n;
  await tables.write(`UPDATE ${tables.states} SET state = '${JSON.stringify(state).replaceAll("'", "''")}' WHERE resource = 'issues'`);
  return `the issues state set back from ${done} to ${done - n} parents done: expect ${n * CHILD_PAGES} committed pages fetched again`;
}

interface Run {
  code: number | null;
  signal: string | null;
  ms: number;
  firstRequestMs: number | undefined;
  stderr: string;
  /** The benchmark's timer killed it (not a commit point). */
  timerKilled: boolean;
  requests: string[];
  /** [ms since spawn, VmRSS kB], every 100 ms. */
  rss: Array<[number, number]>;
}

/** One CLI run: killed `afterMs` after its first request reaches the mock, or after the spawn (`duringStartUp`), or at a commit point. */
function run(tables: SinkTables, out: string, kill?: { afterMs: number; duringStartUp: boolean; point?: string | undefined }): Promise<Run> {
  return new Promise((resolve, reject) => {
    proxy.take();
    const started = performance.now();
    const env = { ...process.env, ...(kill?.point ? { SLUICE_HARVEST_CRASH: kill.point } : {}) };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'harvest', '--config', configFile, '--out', out, '--sink', tables.sink, '--quiet'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let firstRequestMs: number | undefined;
    let killer: NodeJS.Timeout | undefined;
    let timerKilled = false;
    const killNow = (): void => {
      timerKilled = true;
      child.kill('SIGKILL');
    };
    const rss: Array<[number, number]> = [];
    const sampler = setInterval(() => {
      try {
        const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        if (kb !== undefined) rss.push([performance.now() - started, Number(kb)]);
      } catch {
        // gone between two samples
      }
    }, 100);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (kill?.duringStartUp) killer = setTimeout(killNow, kill.afterMs);
    proxy.onRequest = () => {
      if (firstRequestMs !== undefined) return;
      firstRequestMs = performance.now() - started;
      if (kill && !kill.duringStartUp) killer = setTimeout(killNow, kill.afterMs);
    };
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      if (killer) clearTimeout(killer);
      proxy.onRequest = undefined;
      resolve({ code, signal, ms: performance.now() - started, firstRequestMs, stderr, timerKilled, requests: proxy.take(), rss });
    });
  });
}

const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)} %`;
const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const diffLine = (name: string, d: TableDiff): string =>
  `${name}: ${d.rows.toLocaleString('en')} rows of ${d.expected.toLocaleString('en')}, ${d.duplicates} duplicates, ${d.gaps} gaps, ${d.extra} not in the clean run, ${d.differ} differ, ${d.moved} at another row`;
const exact = (d: TableDiff): boolean => d.rows === d.expected && d.duplicates === 0 && d.gaps === 0 && d.extra === 0 && d.differ === 0;

/** Steps 2–4: the chain of kills, its tables against the clean run's, and the pages fetched again; sets a failing exit code on a miss. */
async function chainAndCompare(clean: SinkTables, startUp: number, work: number): Promise<void> {
  // 2. The chain of kills.
  const chain = tablesOf('chain');
  everything.push(chain);
  const chainOut = join(dir, 'chain-out');
  mkdirSync(chainOut);
  const served = new Map<string, number>();
  const kinds = new Map<string, number>();
  const landedAt: number[] = []; // share of the pages committed when each kill had landed
  let killed = 0;
  let refetched = 0;
  const refetchedPages: string[] = [];
  let runs = 0;
  const started = performance.now();
  let finished: Run | undefined;
  let committed = new Set<string>();
  let controlled = false;
  while (finished === undefined && runs < KILLS * 3) {
    let kill: { afterMs: number; duringStartUp: boolean; point?: string | undefined } | undefined;
    let kind = 'none';
    if (killed < KILLS) {
      // Each killed run does about (work left) ÷ (kills left) on average, a little less, so the kills cover the whole harvest.
      const left = work * (1 - committed.size / TOTAL_PAGES);
      const budget = left / (KILLS - killed) + warmUp.ms();
      // Never so late that the run may finish first: that would end the chain short of its kills.
      const latest = warmUp.ms() + 0.8 * left;
      const dice = Math.random();
      if (committed.size === TOTAL_PAGES) {
        // Every page is in: a run only marks the sync done, with no request to arm a timer on.
        kind = 'start-up';
        kill = { duringStartUp: true, afterMs: Math.random() * startUp * 0.9 };
      } else if (dice < 0.1) {
        kind = 'start-up';
        kill = { duringStartUp: true, afterMs: Math.random() * startUp * 1.5 };
      } else if (dice < 0.35) {
        const point = COMMIT_POINTS[Math.floor(Math.random() * COMMIT_POINTS.length)]!;
        kind = point;
        kill = { duringStartUp: false, afterMs: Math.min(latest, 1.8 * budget), point: `${point}:${1 + Math.floor(Math.random() * 10)}` };
      } else {
        kind = 'timed';
        kill = { duringStartUp: false, afterMs: Math.min(latest, warmUp.ms() + Math.random() * 1.8 * (budget - warmUp.ms())) };
      }
    }
    const before = committed.size;
    const result = await run(chain, chainOut, kill);
    runs++;
    for (const url of result.requests) {
      const page = pageOf(url);
      if (page === undefined) continue;
      served.set(page, (served.get(page) ?? 0) + 1);
      if (committed.has(page)) {
        refetched++;
        if (refetchedPages.length < 10) refetchedPages.push(page);
      }
    }
    if (result.signal === 'SIGKILL') {
      killed++;
      // A commit point not reached in the time given falls to the timer.
      const landed = kill?.point !== undefined && result.timerKilled ? 'timed' : kind;
      kinds.set(landed, (kinds.get(landed) ?? 0) + 1);
      committed = await committedPages(chain);
      landedAt.push(committed.size / TOTAL_PAGES);
      if (kind === 'timed' && result.timerKilled && committed.size > before) warmUp.learn(kill!.afterMs - ((committed.size - before) / TOTAL_PAGES) * work);
      if (CONTROL && !controlled && killed >= KILLS / 2) {
        controlled = true;
        console.log(`control: ${await forgetParents(chain, 5)}`);
      }
    } else if (result.code !== 0) throw new Error(`run ${runs} failed (${result.code}): ${result.stderr}`);
    else finished = result;
}
if (finished === undefined) throw new Error(`no run finished in ${runs}`);
const tenths = Array.from({ length: 10 }, (_, i) => landedAt.filter((f) => f >= i / 10 && (f < (i + 1) / 10 || (i === 9 && f <= 1))).length);
console.log(`kill -9: ${killed} kills in ${runs} runs (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), then the last run to the end; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
console.log(`kills by share of the pages committed when they landed, by tenths: ${tenths.join(' ')}`);

// 3. The tables against the clean run's.
const repos = await compareTables(clean, chain, 'repos');
const issues = await compareTables(clean, chain, 'issues');
console.log(diffLine('repos', repos));
console.log(diffLine('issues', issues));

// 4. Pages fetched again.
const again = [...served.values()].filter((n) => n > 1).length;
const never = TOTAL_PAGES - served.size;
console.log(`pages: ${served.size.toLocaleString('en')} of ${TOTAL_PAGES.toLocaleString('en')} fetched (${never} never), ${again} fetched more than once (in flight at a kill: ${pct(again, TOTAL_PAGES)})`);
console.log(`committed pages fetched again: ${refetched}${refetchedPages.length > 0 ? ` (e.g. ${refetchedPages.join(', ')})` : ''}`);
if (!exact(repos) || !exact(issues) || refetched !== 0 || never !== 0 || killed < KILLS) process.exitCode = 1;
}

console.log(`source crash: ${KIND}${MERGE ? ' (merge by id)' : ''}, ${PARENTS.toLocaleString('en')} parents × ${CHILDREN} children = ${(PARENTS * CHILDREN).toLocaleString('en')} child records, ${TOTAL_PAGES.toLocaleString('en')} pages, concurrency ${CONCURRENCY}, ${KILLS} kills — ${await machineLine()}`);
const everything: SinkTables[] = [];
try {
  // 1. The clean run, and its memory.
  const clean = tablesOf('clean');
  everything.push(clean);
  const cleanOut = join(dir, 'clean-out');
  mkdirSync(cleanOut);
  const cleanRun = await run(clean, cleanOut);
  if (cleanRun.code !== 0) throw new Error(`the clean run failed (${cleanRun.code}): ${cleanRun.stderr}`);
  const startUp = cleanRun.firstRequestMs ?? 1000;
  const work = cleanRun.ms - startUp;
  console.log(`clean run: ${(cleanRun.ms / 1000).toFixed(1)} s (${(startUp / 1000).toFixed(1)} s of it start-up), ${cleanRun.requests.length.toLocaleString('en')} requests — load ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const half = cleanRun.ms / 2;
  const peak = (samples: Array<[number, number]>): number => Math.max(0, ...samples.map(([, kb]) => kb));
  const first = peak(cleanRun.rss.filter(([t]) => t < half));
  const second = peak(cleanRun.rss.filter(([t]) => t >= half));
  const deciles = Array.from({ length: 10 }, (_, i) => mb(peak(cleanRun.rss.filter(([t]) => t >= (i * cleanRun.ms) / 10 && t < ((i + 1) * cleanRun.ms) / 10))));
  console.log(`RSS (${cleanRun.rss.length} samples, 100 ms apart): first-half peak ${mb(first)}, second-half peak ${mb(second)} (${second <= first * 1.1 ? 'within' : 'NOT within'} 10 %: ${((100 * (second - first)) / first).toFixed(1)} %); peak by tenth of the run: ${deciles.join(' ')}`);
  if (!MEMORY_ONLY) await chainAndCompare(clean, startUp, work);
} finally {
  for (const t of everything) await t.cleanup().catch(() => {});
  await proxy.close();
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
}
