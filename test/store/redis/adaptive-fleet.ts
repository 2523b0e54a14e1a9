/**
 * A fleet of sluiceFetch instances against the mock, for adaptive-fleet.test.ts and
 * bench/adaptive-fleet.bench.ts: `members` instances, each with its own ioredis client,
 * RedisStore and RateLimiter on one key (so the limit is shared), `workers` loops each,
 * against a mock hiding `limit`/s (`headers: 'none'`). The adapted rate is shared through
 * the store (the default), or each member adapts alone, or there is no adaptation. The
 * members run in this process (`runAdaptiveFleet`) or one per child process
 * (`runAdaptiveFleetProcesses`, adaptive-fleet-worker.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RateLimiter, sluiceFetch, type SluiceFetch, type SluiceFetchEvent } from '../../../src/index.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { RedisStore } from '../../../src/redis.js';
import { connectTo, type TestClient } from './redis-target.js';

export type FleetMode = 'shared' | 'alone' | 'fixed';

export interface AdaptiveFleetOptions {
  url: string;
  prefix: string;
  members: number;
  /** `'shared'`: adaptive, shared through the store; `'alone'`: adaptive, each member alone; `'fixed'`: no adaptation, paced at `guess`. */
  mode: FleetMode;
  /** The hidden limit, per second. */
  limit: number;
  /** The rate every member starts from, per second. */
  guess: number;
  seconds: number;
  workers: number;
}

export interface AdaptiveFleetResult {
  /** Answers within the run: 200s and 429s, over all members. */
  ok: number;
  throttled: number;
  /** 200s per second over the whole run, and over its second half. */
  rate: number;
  rateSecondHalf: number;
  share429: number;
  /**
   * The rate each member paces at once the run is over and every member has exchanged with
   * the shared state twice (two rounds of one request each, 150 ms apart).
   */
  finalRates: number[];
  /** 200s per member. */
  okPerMember: number[];
  violations: number;
  sharingEvents: number;
  /** Per second of the run: 200s, 429s, and member 0's rate at its end. */
  perSecond: { ok: number; throttled: number; rate: number }[];
}

/** What the members run in one process report. */
export interface MembersResult {
  okPerMember: number[];
  finalRates: number[];
  sharingEvents: number;
  perSecond: { ok: number; throttled: number; rate: number }[];
}

/** A clock every process on this machine shares. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * Connects `members` clients, builds their sluiceFetch, waits for `startAt` (epochNow) and
 * runs them against `mockUrl` for `seconds`. `startAt` may be a promise: a child process
 * learns it once every child is ready.
 */
export async function runMembers(o: Omit<AdaptiveFleetOptions, 'limit' | 'url'> & { url: string; mockUrl: string; startAt: number | (() => Promise<number>) }): Promise<MembersResult> {
  const clients: TestClient[] = [];
  try {
    // o.url: a redis:// URL or a redis-cluster:// address (redis-target.ts)
    for (let i = 0; i < o.members; i++) clients.push(await connectTo(o.url));
    const finalRates = new Array<number>(o.members).fill(o.guess);
    let sharingEvents = 0;
    const fetches: SluiceFetch[] = clients.map((client, i) => {
      const limiter = new RateLimiter({ limits: `${o.guess}/1s`, store: new RedisStore(client, { prefix: o.prefix }), key: 'api' });
      const onEvent = (event: SluiceFetchEvent): void => {
        if (event.type === 'response' && event.rate !== undefined) finalRates[i] = event.rate;
        if (event.type === 'sharing') sharingEvents++;
      };
      const adaptive = o.mode === 'shared' ? true : o.mode === 'alone' ? { shared: false as const } : false;
      return sluiceFetch({ rate: limiter, retry: false, adaptive, onEvent });
    });
    const startAt = typeof o.startAt === 'number' ? o.startAt : await o.startAt();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - epochNow())));
    const stop = new AbortController();
    const end = startAt + o.seconds * 1000;
    const timer = setTimeout(() => stop.abort(), end - epochNow());
    const okPerMember = new Array<number>(o.members).fill(0);
    const perSecond = Array.from({ length: o.seconds }, () => ({ ok: 0, throttled: 0, rate: Number.NaN }));
    const sampler = setInterval(() => {
      const second = Math.round((epochNow() - startAt) / 1000) - 1;
      if (perSecond[second]) perSecond[second].rate = finalRates[0]!;
    }, 1000);
    const worker = async (member: number): Promise<void> => {
      const f = fetches[member]!;
      while (!stop.signal.aborted) {
        const res = await f(`${o.mockUrl}/records/1`, { signal: stop.signal }).catch(() => undefined);
        if (res === undefined) return;
        await res.arrayBuffer();
        const at = epochNow();
        if (at > end) return;
        const bucket = perSecond[Math.floor((at - startAt) / 1000)]!;
        if (res.status === 200) {
          bucket.ok++;
          okPerMember[member]!++;
        } else bucket.throttled++;
      }
    };
    await Promise.all(fetches.flatMap((_, member) => Array.from({ length: o.workers }, () => worker(member))));
    clearTimeout(timer);
    clearInterval(sampler);
    // Settle: past syncMs every member's next request exchanges with the shared state first.
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      for (const f of fetches) await (await f(`${o.mockUrl}/records/1`)).arrayBuffer();
    }
    return { okPerMember, finalRates, sharingEvents, perSecond };
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/** The fleet with every member in this process. */
export async function runAdaptiveFleet(o: AdaptiveFleetOptions): Promise<AdaptiveFleetResult> {
  const mock = await startMockApi({ limits: `${o.limit}/1s`, headers: 'none' });
  try {
    const result = await runMembers({ ...o, mockUrl: mock.url, startAt: epochNow() + 100 });
    return summarize(o, [result], mock.stats().violations.total);
  } finally {
    await mock.close();
  }
}

const WORKER = fileURLToPath(new URL('./adaptive-fleet-worker.ts', import.meta.url));

/** The fleet with one member per child process; the mock runs here. */
export async function runAdaptiveFleetProcesses(o: AdaptiveFleetOptions): Promise<AdaptiveFleetResult> {
  const mock = await startMockApi({ limits: `${o.limit}/1s`, headers: 'none' });
  try {
    // Each child connects and builds its member, says 'ready', and is then told the start.
    const options = JSON.stringify({ ...o, members: 1, mockUrl: mock.url });
    const children: ChildProcess[] = [];
    const ready: Promise<void>[] = [];
    const results: Promise<MembersResult>[] = [];
    for (let i = 0; i < o.members; i++) {
      const child = fork(WORKER, [options], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let onReady: () => void = () => {};
      ready.push(new Promise((resolve) => (onReady = resolve)));
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (message) => (message === 'ready' ? onReady() : resolve(message as MembersResult)));
          child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`adaptive fleet worker exited with ${code}`))));
          child.on('error', reject);
        }),
      );
    }
    await Promise.all(ready);
    const startAt = epochNow() + 200;
    for (const child of children) child.send({ startAt });
    return summarize(o, await Promise.all(results), mock.stats().violations.total);
  } finally {
    await mock.close();
  }
}

function summarize(o: AdaptiveFleetOptions, parts: MembersResult[], violations: number): AdaptiveFleetResult {
  const okPerMember = parts.flatMap((p) => p.okPerMember);
  const perSecond = parts[0]!.perSecond.map((_, s) => ({
    ok: parts.reduce((sum, p) => sum + p.perSecond[s]!.ok, 0),
    throttled: parts.reduce((sum, p) => sum + p.perSecond[s]!.throttled, 0),
    // NaN crosses IPC as null.
    rate: parts[0]!.perSecond[s]!.rate ?? Number.NaN,
  }));
  const ok = okPerMember.reduce((a, b) => a + b, 0);
  const throttled = perSecond.reduce((a, b) => a + b.throttled, 0);
  const secondHalf = perSecond.slice(Math.ceil(o.seconds / 2)).reduce((a, b) => a + b.ok, 0);
  return {
    ok,
    throttled,
    rate: ok / o.seconds,
    rateSecondHalf: secondHalf / (o.seconds - Math.ceil(o.seconds / 2)),
    share429: throttled / Math.max(1, ok + throttled),
    finalRates: parts.flatMap((p) => p.finalRates),
    okPerMember,
    violations,
    sharingEvents: parts.reduce((a, p) => a + p.sharingEvents, 0),
    perSecond,
  };
}
