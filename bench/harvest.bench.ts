/**
 * `sluice harvest` against the embedded mock, three figures:
 *
 * 1. A known limit — 1,200/min, IETF headers, latency 0.2–1.5 s, `--rate 1200/1m`: wall time
 *    against the theoretical minimum, pages ÷ rate. Target: within 2 %.
 * 2. The same mock with the limit hidden (`headers: 'none'`, no Retry-After), harvested with
 *    a guess three times too high (`--rate 60/1s`) that the adaptive rate brings down.
 *    Target: within 10 % of pages ÷ rate.
 * 3. 1,000,000 records at a high limit, 1,000 a page, the mock in a child process: this
 *    process's RSS sampled all along, printed at start / 10 % / mid / end / peak. Target:
 *    flat — the peak over the second half within 10 % of the peak over 10–50 %.
 *
 * Runs are long enough that the fixed costs (the first page, fetched alone for its total,
 * and the last page's latency; about 2 s together) stay near 1 % of the minimum; the
 * output says where the time went. The harvest runs in this process, through the
 * same engine and recorder as the CLI, writing (and fsyncing) to a temp file.
 *
 *   node --expose-gc --import tsx bench/harvest.bench.ts [--pages-known 9600] [--pages-hidden 3600] [--records 1000000] [--only known|hidden|memory]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHarvestArgs } from '../src/cli/harvest-args.js';
import { Harvest } from '../src/harvest/engine.js';
import type { HarvestMonitor } from '../src/harvest/monitor.js';
import { HarvestRecorder } from '../src/harvest/visible/index.js';
import { systemClock } from '../src/core/clock.js';
import { startMockApi } from '../src/http/mock/index.js';
import { flag, machineLine } from './lib/index.js';

const PAGE = 20;
const LIMIT_PER_S = 20; // 1,200/min
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'sluice-harvest-bench-'));

interface Run {
  wallMs: number;
  start: number;
  records: number;
  failed: number;
  recorder: HarvestRecorder;
}

async function harvest(args: string[], monitorFor?: (recorder: HarvestRecorder) => HarvestMonitor): Promise<Run> {
  const { config } = parseHarvestArgs(args, {});
  const h = await Harvest.open(config);
  const recorder = new HarvestRecorder({ clock: systemClock });
  const start = performance.now();
  const outcome = await h.run(monitorFor ? monitorFor(recorder) : recorder);
  const wallMs = performance.now() - start;
  await h.close();
  return { wallMs, start, records: outcome.records, failed: outcome.failed.length, recorder };
}

/** Forwards to the recorder and keeps the first, second and last request start: where the wall time went. */
function startsOf(recorder: HarvestRecorder, starts: { first?: number; second?: number; last?: number; count: number }): HarvestMonitor {
  return new Proxy(recorder, {
    get(target, key, receiver) {
      if (key !== 'requestStarted') return Reflect.get(target, key, receiver) as unknown;
      return (now: number) => {
        target.requestStarted(now);
        starts.count++;
        if (starts.first === undefined) starts.first = now;
        else if (starts.second === undefined) starts.second = now;
        starts.last = now;
      };
    },
  });
}

function verdict(met: boolean): string {
  return met ? 'MET' : 'MISSED';
}

async function paced(name: string, pages: number, headers: 'ietf' | 'none', rate: string, target: number): Promise<void> {
  const mock = await startMockApi({ records: pages * PAGE, limits: '1200/1m', headers, latency: '200ms-1.5s', seed: 5 });
  const out = join(dir, `${name}.ndjson`);
  const starts = { count: 0 } as { first?: number; second?: number; last?: number; count: number };
  const run = await harvest([`${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', String(PAGE), '--rate', rate, '--out', out], (r) => startsOf(r, starts));
  const stats = mock.stats();
  await mock.close();
  const minimumMs = (pages / LIMIT_PER_S) * 1000;
  const over = (run.wallMs / minimumMs - 1) * 100;
  const s = run.recorder.snapshot();
  console.log(`\n${name}: ${pages} pages of ${PAGE} (${run.records} records), mock limit 1200/min, headers ${headers}, latency 0.2–1.5 s, --rate ${rate}`);
  console.log(`  wall ${(run.wallMs / 1000).toFixed(1)} s, minimum ${(minimumMs / 1000).toFixed(1)} s (pages ÷ rate): ${over >= 0 ? '+' : ''}${over.toFixed(2)} %`);
  console.log(`  requests ${stats.requests}, 429s ${stats.throttled}, over the limit ${stats.violations.total}, retries ${s.retries}, paused ${(s.pausedMs / 1000).toFixed(1)} s, failed pages ${run.failed}, latency p50 ${s.latencyP50Ms?.toFixed(0)} ms p95 ${s.latencyP95Ms?.toFixed(0)} ms`);
  const pace = ((starts.count - 2) / (starts.last! - starts.second!)) * 1000;
  console.log(
    `  where it went: first answer ${((starts.second! - run.start) / 1000).toFixed(2)} s (alone, for the total), then ${starts.count - 1} starts at ${pace.toFixed(3)}/s over ${((starts.last! - starts.second!) / 1000).toFixed(1)} s, last answer +${((run.start + run.wallMs - starts.last!) / 1000).toFixed(2)} s; final rate limit ${s.rateLimit?.toFixed(3) ?? 'none'}/s`,
  );
  console.log(`  target within ${target} %: ${verdict(over <= target && run.failed === 0 && run.records === pages * PAGE)}`);
}

/** The mock in a child process, so this process's RSS is the harvest's alone. */
async function childMock(records: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'mock', '--records', String(records), '--rate', 'none', '--seed', '9'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.on('exit', () => reject(new Error(`the mock exited: ${text}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function memory(records: number): Promise<void> {
  const mock = await childMock(records);
  const out = join(dir, 'memory.ndjson');
  /** [share of records written, RSS] */
  const samples: Array<[number, number]> = [];
  let done = 0;
  const heap: number[] = [];
  const sample = (): void => void samples.push([done / records, process.memoryUsage().rss]);
  const timer = setInterval(sample, 100);
  sample();
  const run = await harvest([`${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', '1000', '--rate', '100000/1m', '--out', out], (recorder) =>
    new Proxy(recorder, {
      get(target, key, receiver) {
        if (key !== 'pageDone') return Reflect.get(target, key, receiver) as unknown;
        return (now: number, n: number, bytes: number) => {
          target.pageDone(now, n, bytes);
          const before = done;
          done += n;
          sample();
          // The heap that survives a full collection, at 10 %, 50 % and 100 %: what is really held.
          for (const share of [0.1, 0.5, 1]) {
            if (before < records * share && done >= records * share) {
              (globalThis as { gc?: () => void }).gc?.();
              heap.push(process.memoryUsage().heapUsed);
            }
          }
        };
      },
    }),
  );
  clearInterval(timer);
  sample();
  mock.stop();
  const rssAt = (share: number): number => samples.find(([s]) => s >= share)?.[1] ?? Number.NaN;
  const peakOf = (from: number, to: number): number => Math.max(...samples.filter(([s]) => s >= from && s <= to).map(([, r]) => r));
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
  const firstHalf = peakOf(0.1, 0.5);
  const secondHalf = peakOf(0.5, 1);
  console.log(`\nmemory: ${run.records.toLocaleString('en')} records, 1,000 a page, the mock in another process, no latency, --rate 100000/1m; ${(run.wallMs / 1000).toFixed(1)} s (${Math.round(run.records / (run.wallMs / 1000)).toLocaleString('en')} records/s), ${samples.length} RSS samples`);
  console.log(`  RSS start ${mb(samples[0]![1])}, at 10 % ${mb(rssAt(0.1))}, mid ${mb(rssAt(0.5))}, end ${mb(samples[samples.length - 1]![1])}, peak ${mb(peakOf(0, 1))}; peak over 10–50 % ${mb(firstHalf)}, over 50–100 % ${mb(secondHalf)}`);
  console.log(`  heap after a full GC at 10 % ${mb(heap[0]!)}, mid ${mb(heap[1]!)}, end ${mb(heap[2]!)}`);
  console.log(`  target flat — the second half's peak within 10 % of the first half's (memory does not grow with records): ${verdict(secondHalf <= firstHalf * 1.1 && run.records === records)}`);
}

console.log(`sluice harvest benchmark — ${await machineLine()}`);
try {
  if (!only || only === 'known') await paced('known limit', flag('pages-known', 9600), 'ietf', '1200/1m', 2);
  if (!only || only === 'hidden') await paced('hidden limit', flag('pages-hidden', 3600), 'none', '60/1s', 10);
  if (!only || only === 'memory') await memory(flag('records', 1_000_000));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
