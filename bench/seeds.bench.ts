/**
 * The seeds' experiment in virtual time: an API with a quota of 100 calls a minute and a
 * latency that swings (uniform 8–30 s), then the same API after it got fast (0.1–0.5 s);
 * 1,000 pages. A plain semaphore of 10 (the seeds' fix) against sluice's flow with
 * `rate: '100/1m', concurrency: 'auto'`, and, to show which half does what, flow with the
 * rate but a fixed concurrency of 10.
 *
 * Everything runs on a ManualClock, so ten simulated minutes take well under a second and
 * every run is exactly repeatable (latencies come from a seeded generator; both
 * contenders see the same latency for the same page).
 *
 *   node --expose-gc --import tsx bench/seeds.bench.ts
 */
import { ManualClock } from '../src/core/clock.js';
import { flow } from '../src/flow/index.js';
import { achievedRate, fmtInt, fmtPercent, machineLine, maxInWindow, printTable, Semaphore, type Column, type Row } from './lib/index.js';

const PAGES = 1000;
const QUOTA_PER_MIN = 100;
const MINUTE = 60_000;

interface Regime {
  name: string;
  minMs: number;
  maxMs: number;
}

const REGIMES: Regime[] = [
  { name: 'slow API, latency 8–30 s', minMs: 8000, maxMs: 30_000 },
  { name: 'fast API, latency 0.1–0.5 s', minMs: 100, maxMs: 500 },
];

/** The simulated API: records when each call starts and how many are in flight. */
class Api {
  readonly starts: number[] = [];
  inFlight = 0;
  peakInFlight = 0;
  private readonly latency: number[];

  constructor(
    private readonly clock: ManualClock,
    regime: Regime,
  ) {
    const random = mulberry32(42);
    this.latency = Array.from({ length: PAGES }, () => regime.minMs + random() * (regime.maxMs - regime.minMs));
  }

  async fetch(page: number, signal?: AbortSignal): Promise<number> {
    this.starts.push(this.clock.now());
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    try {
      await this.clock.sleep(this.latency[page]!, signal);
      return page;
    } finally {
      this.inFlight--;
    }
  }
}

interface Outcome {
  starts: number[];
  totalMs: number;
  peakInFlight: number;
  note: string;
}

/** Runs `work` on the clock until it settles; virtual time, so this is fast. */
async function drive(clock: ManualClock, work: Promise<unknown>): Promise<void> {
  let done = false;
  const finished = work.then(() => (done = true));
  while (!done) if (!(await clock.next())) await new Promise((r) => setImmediate(r));
  await finished;
}

const pages = (): number[] => Array.from({ length: PAGES }, (_, i) => i);

/** The seeds' code: `Semaphore(10)` around each call, every page gathered at once. */
async function semaphore(regime: Regime): Promise<Outcome> {
  const clock = new ManualClock();
  const api = new Api(clock, regime);
  const sem = new Semaphore(10);
  await drive(clock, Promise.all(pages().map((p) => sem.run(() => api.fetch(p)))));
  return { starts: api.starts, totalMs: clock.now(), peakInFlight: api.peakInFlight, note: 'in flight ≤ 10' };
}

async function sluice(regime: Regime, concurrency: number | 'auto'): Promise<Outcome> {
  const clock = new ManualClock();
  const api = new Api(clock, regime);
  const results = flow(pages(), (p, { signal }) => api.fetch(p, signal), { rate: `${QUOTA_PER_MIN}/1m`, concurrency, clock });
  let failed = 0;
  const limits: number[] = [];
  results.on('limit', (e) => limits.push(e.limit));
  await drive(
    clock,
    (async () => {
      for await (const r of results) if (!r.ok) failed++;
    })(),
  );
  if (failed > 0) throw new Error(`${failed} pages failed`);
  const note = concurrency === 'auto' ? `limit ${Math.min(...limits)}–${Math.max(...limits)}, ends at ${results.stats().concurrency}` : `in flight ≤ ${concurrency}`;
  return { starts: api.starts, totalMs: clock.now(), peakInFlight: api.peakInFlight, note };
}

function row(name: string, outcome: Outcome): Row {
  const perMin = achievedRate(outcome.starts) * 60;
  return {
    name,
    note: outcome.note,
    values: {
      rate: perMin,
      quota: (perMin / QUOTA_PER_MIN) * 100,
      window: maxInWindow(outcome.starts, MINUTE),
      total: outcome.totalMs / 1000,
      peak: outcome.peakInFlight,
    },
  };
}

const columns: Column[] = [
  { key: 'rate', title: 'achieved calls/min', format: (v) => v.toFixed(1), ratio: false },
  { key: 'quota', title: 'share of quota', format: fmtPercent, ratio: false },
  { key: 'window', title: 'most starts in any 60 s', format: fmtInt, ratio: false },
  { key: 'total', title: 'total time', format: (v) => `${v.toFixed(1)} s`, ratio: false },
  { key: 'peak', title: 'peak in flight', format: fmtInt, ratio: false },
];

console.log(await machineLine());
const verdicts: string[] = [];
for (const regime of REGIMES) {
  const sem = await semaphore(regime);
  const fixed = await sluice(regime, 10);
  const auto = await sluice(regime, 'auto');
  const rows = [row('semaphore(10)', sem), row("flow rate '100/1m', concurrency 10", fixed), row("flow rate '100/1m', concurrency 'auto'", auto)];
  printTable(
    `${regime.name}; quota ${QUOTA_PER_MIN}/min; ${PAGES} pages (virtual time)`,
    columns,
    rows,
    'achieved calls/min = (starts − 1) / (last start − first start); total time includes the last response.',
  );
  const share = (row('', auto).values.quota as number) / 100;
  const worst = maxInWindow(auto.starts, MINUTE);
  verdicts.push(`${regime.name}: sluice auto uses ${(share * 100).toFixed(2)}% of the quota (target ≥ 99%: ${share >= 0.99 ? 'met' : 'MISSED'}), most in any 60 s ${worst} (never over ${QUOTA_PER_MIN}: ${worst <= QUOTA_PER_MIN ? 'met' : 'MISSED'})`);
}
console.log(`\n${verdicts.join('\n')}`);
await overload();

/**
 * Overload: a server with 4 workers and a 3 s service time serves 80 calls a minute, less
 * than the 100/min quota, and queues the rest — so its latency keeps climbing while it is
 * fed at the quota. Little's law alone would follow that latency up and pile ever more
 * work on the server; 'auto' sees latency rising beyond its long-term level and brakes.
 */
async function overload(): Promise<void> {
  const workers = 4;
  const serviceMs = 3000;
  const run = async (concurrency: number | 'auto'): Promise<Row> => {
    const clock = new ManualClock();
    const server = new Semaphore(workers);
    const starts: number[] = [];
    const latencies: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const call = async (): Promise<void> => {
      const t0 = clock.now();
      starts.push(t0);
      peak = Math.max(peak, ++inFlight);
      await server.run(() => clock.sleep(serviceMs));
      inFlight--;
      latencies.push(clock.now() - t0);
    };
    const results = flow(pages(), call, { rate: `${QUOTA_PER_MIN}/1m`, concurrency, clock });
    await drive(
      clock,
      (async () => {
        for await (const _ of results);
      })(),
    );
    latencies.sort((a, b) => a - b);
    return {
      name: `flow rate '100/1m', concurrency ${concurrency === 'auto' ? "'auto'" : concurrency}`,
      values: {
        rate: achievedRate(starts) * 60,
        peak,
        p50: latencies[latencies.length >> 1]! / 1000,
        max: latencies.at(-1)! / 1000,
        total: clock.now() / 1000,
      },
    };
  };
  const seconds = (v: number): string => `${v.toFixed(1)} s`;
  printTable(
    `overloaded API: ${workers} server workers × ${serviceMs / 1000} s = 80 calls/min, under a ${QUOTA_PER_MIN}/min quota; ${PAGES} pages`,
    [
      { key: 'rate', title: 'achieved calls/min', format: (v) => v.toFixed(1), ratio: false },
      { key: 'peak', title: 'peak in flight', format: fmtInt, ratio: false },
      { key: 'p50', title: 'median latency', format: seconds, ratio: false },
      { key: 'max', title: 'worst latency', format: seconds, ratio: false },
      { key: 'total', title: 'total time', format: seconds, ratio: false },
    ],
    [await run(1000), await run('auto')],
    'The server cannot do more than 80/min either way; what differs is how much work waits in its queue.',
  );
}

/** A small seeded PRNG so every run sees the same latencies. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
