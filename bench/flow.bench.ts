/**
 * Flow memory and speed: N items (default 10,000,000) from a generator through a trivial
 * async worker at concurrency 64 — sluice's `flow`, p-map 7's `pMapIterable` and a
 * hand-written pool of 64 workers pulling from one iterator — then the same in source
 * order with one slow item (a 1 ms timer) in every 1,000, where memory must stay bounded
 * by the reorder buffer while the slow item holds the line — at each side's default bound
 * (sluice window 128, p-map backpressure 64) and with both set to 2,048.
 *
 * Each contender runs in a fresh child process (same flags), so one's heap cannot inflate
 * the next one's RSS. Peak RSS growth = highest RSS sampled during the run (every 64k
 * items) minus RSS just before it, after a full GC.
 *
 * Each figure is the median of `--rounds` runs (default 3), the contenders of a table
 * interleaved round by round so a noisy spell on a shared machine hits them alike.
 *
 *   node --expose-gc --import tsx bench/flow.bench.ts [--items 10000000] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pMapIterable } from 'p-map';
import { flow } from '../src/flow/index.js';
import { collect, flag, fmtNumber, machineLine, median, printTable, type Row } from './lib/index.js';

const ITEMS = flag('items', 10_000_000);
const ROUNDS = flag('rounds', 3);
const CONCURRENCY = 64;
const MB = 1024 * 1024;

type Case = 'sluice' | 'p-map' | 'pool' | 'sluice-ordered' | 'p-map-ordered' | 'sluice-ordered-2048' | 'p-map-ordered-2048';

/** A wider reorder bound for the second ordered pair: both sides get the same one. */
const WIDE = 2048;

function* numbers(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const trivial = async (x: number): Promise<number> => x + 1;
const sometimesSlow = async (x: number): Promise<number> => {
  if (x % 1000 === 999) await new Promise((resolve) => setTimeout(resolve, 1));
  return x + 1;
};

/** Samples RSS every 64k items; returns the peak. */
class RssPeak {
  peak = process.memoryUsage.rss();
  tick(i: number): void {
    if ((i & 0xffff) === 0) {
      const rss = process.memoryUsage.rss();
      if (rss > this.peak) this.peak = rss;
    }
  }
}

async function runCase(name: Case): Promise<{ itemsPerSec: number; rssGrowthMb: number; checksum: number }> {
  await collect();
  const before = process.memoryUsage.rss();
  const rss = new RssPeak();
  let count = 0;
  let checksum = 0;
  const t0 = performance.now();
  const ordered = name.includes('-ordered');
  const wide = name.endsWith('-2048');
  const worker = ordered ? sometimesSlow : trivial;
  if (name.startsWith('sluice')) {
    let expect = 0;
    for await (const r of flow(numbers(ITEMS), worker, { concurrency: CONCURRENCY, ordered, ...(wide ? { window: WIDE } : {}) })) {
      if (!r.ok) throw r.error;
      if (ordered && r.index !== expect++) throw new Error('out of order');
      checksum += r.value;
      rss.tick(++count);
    }
  } else if (name.startsWith('p-map')) {
    const backpressure = wide ? WIDE : CONCURRENCY;
    for await (const value of pMapIterable(numbers(ITEMS), worker, { concurrency: CONCURRENCY, preserveOrder: ordered, backpressure })) {
      checksum += value;
      rss.tick(++count);
    }
  } else {
    // The floor: 64 loops sharing one iterator, no results object, no ordering, no cancellation.
    const source = numbers(ITEMS);
    const loop = async (): Promise<void> => {
      for (let step = source.next(); !step.done; step = source.next()) {
        checksum += await worker(step.value);
        rss.tick(++count);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (count !== ITEMS) throw new Error(`${name}: ${count} items, expected ${ITEMS}`);
  return { itemsPerSec: count / seconds, rssGrowthMb: (rss.peak - before) / MB, checksum };
}

const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  const result = await runCase(process.argv[caseArg + 1] as Case);
  process.stdout.write(JSON.stringify(result));
} else {
  console.log(await machineLine());
  const self = fileURLToPath(import.meta.url);
  const run = (name: Case): { itemsPerSec: number; rssGrowthMb: number } => {
    const child = spawnSync(process.execPath, [...process.execArgv, self, '--case', name, '--items', String(ITEMS)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`${name} failed: ${child.stderr}`);
    return JSON.parse(child.stdout) as { itemsPerSec: number; rssGrowthMb: number };
  };
  const columns = [
    { key: 'rate', title: 'items/s', format: fmtNumber },
    { key: 'rss', title: 'peak RSS growth', format: (v: number) => `${v.toFixed(1)} MB`, ratio: false },
  ];
  const table = (title: string, cases: Array<[Case, string, string | undefined]>): Record<string, { itemsPerSec: number; rssGrowthMb: number }> => {
    const samples = new Map<Case, Array<{ itemsPerSec: number; rssGrowthMb: number }>>(cases.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) for (const [name] of cases) samples.get(name)!.push(run(name));
    const results: Record<string, { itemsPerSec: number; rssGrowthMb: number }> = {};
    const rows: Row[] = [];
    for (const [name, note, ref] of cases) {
      const runs = samples.get(name)!;
      // Speed: the median run. Memory: the worst run, since the bound must hold every time.
      const r = { itemsPerSec: median(runs.map((x) => x.itemsPerSec)), rssGrowthMb: Math.max(...runs.map((x) => x.rssGrowthMb)) };
      results[name] = r;
      rows.push({ name, note, ref, values: { rate: r.itemsPerSec, rss: r.rssGrowthMb } });
    }
    printTable(title, columns, rows, `Median items/s and worst peak RSS growth of ${ROUNDS} interleaved runs, each in a fresh process. Ratios are sluice / peer: above 1× sluice is faster.`);
    return results;
  };
  const fmtItems = ITEMS.toLocaleString('en-US');
  const plain = table(`${fmtItems} items, concurrency ${CONCURRENCY}, trivial async worker, completion order`, [
    ['sluice', 'flow(), per-item results', undefined],
    ['p-map', 'pMapIterable, preserveOrder: false', 'sluice'],
    ['pool', 'hand-written: 64 loops on one iterator', 'sluice'],
  ]);
  const ordered = table(`${fmtItems} items, concurrency ${CONCURRENCY}, source order, one item in 1,000 waits 1 ms`, [
    ['sluice-ordered', 'flow({ ordered: true }), default window 128', undefined],
    ['p-map-ordered', 'pMapIterable, preserveOrder: true, default backpressure 64', 'sluice-ordered'],
    ['sluice-ordered-2048', `flow({ ordered: true, window: ${WIDE} })`, undefined],
    ['p-map-ordered-2048', `pMapIterable, preserveOrder: true, backpressure: ${WIDE}`, 'sluice-ordered-2048'],
  ]);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log(`\npeak RSS growth ≤ 64 MB: ${verdict(plain.sluice!.rssGrowthMb <= 64)} (${plain.sluice!.rssGrowthMb.toFixed(1)} MB); ordered: ${verdict(ordered['sluice-ordered']!.rssGrowthMb <= 64)} (${ordered['sluice-ordered']!.rssGrowthMb.toFixed(1)} MB)`);
  const ratio = (a: string, b: string, r: typeof plain): string => (r[a]!.itemsPerSec / r[b]!.itemsPerSec).toFixed(2);
  console.log(`items/s ≥ p-map: ${verdict(plain.sluice!.itemsPerSec >= plain['p-map']!.itemsPerSec)} (${ratio('sluice', 'p-map', plain)}×); ordered ${ratio('sluice-ordered', 'p-map-ordered', ordered)}× at default bounds, ${ratio('sluice-ordered-2048', 'p-map-ordered-2048', ordered)}× at ${WIDE}`);
  console.log(`ordered peak RSS growth with window ${WIDE}: ${ordered['sluice-ordered-2048']!.rssGrowthMb.toFixed(1)} MB`);
}
