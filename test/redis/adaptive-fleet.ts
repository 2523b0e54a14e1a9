/**
 * A fleet of sluiceFetch instances against the mock, for adaptive-fleet.test.ts and
 * bench/adaptive-fleet.bench.ts: `members` instances, each with its own ioredis client,
 * RedisStore and RateLimiter on one key (so the limit is shared), `workers` loops each,
 * against a mock hiding `limit`/s (`headers: 'none'`). The adapted rate is shared through
 * the store (the default), or each member adapts alone, or there is no adaptation.
 */
import { Redis } from 'ioredis';
import { RateLimiter, sluiceFetch, type SluiceFetchEvent } from '../../src/index.js';
import { startMockApi } from '../../src/http/mock/index.js';
import { RedisStore } from '../../src/redis.js';

export interface AdaptiveFleetOptions {
  url: string;
  prefix: string;
  members: number;
  /** `'shared'`: adaptive, shared through the store; `'alone'`: adaptive, each member alone; `'fixed'`: no adaptation, paced at `guess`. */
  mode: 'shared' | 'alone' | 'fixed';
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

export async function runAdaptiveFleet(o: AdaptiveFleetOptions): Promise<AdaptiveFleetResult> {
  const mock = await startMockApi({ limits: `${o.limit}/1s`, headers: 'none' });
  const clients: Redis[] = [];
  try {
    for (let i = 0; i < o.members; i++) {
      const client = new Redis(o.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
    }
    await Promise.all(clients.map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))));
    const finalRates = new Array<number>(o.members).fill(o.guess);
    let sharingEvents = 0;
    const fetches = clients.map((client, i) => {
      const limiter = new RateLimiter({ limits: `${o.guess}/1s`, store: new RedisStore(client, { prefix: o.prefix }), key: 'api' });
      const onEvent = (event: SluiceFetchEvent): void => {
        if (event.type === 'response' && event.rate !== undefined) finalRates[i] = event.rate;
        if (event.type === 'sharing') sharingEvents++;
      };
      const adaptive = o.mode === 'shared' ? true : o.mode === 'alone' ? { shared: false as const } : false;
      return sluiceFetch({ rate: limiter, retry: false, adaptive, onEvent });
    });
    const stop = new AbortController();
    const start = performance.now();
    const end = start + o.seconds * 1000;
    const half = start + (o.seconds * 1000) / 2;
    const timer = setTimeout(() => stop.abort(), o.seconds * 1000);
    const okPerMember = new Array<number>(o.members).fill(0);
    const perSecond = Array.from({ length: o.seconds }, () => ({ ok: 0, throttled: 0, rate: Number.NaN }));
    const sampler = setInterval(() => {
      const second = Math.round((performance.now() - start) / 1000) - 1;
      if (perSecond[second]) perSecond[second].rate = finalRates[0]!;
    }, 1000);
    let okSecondHalf = 0;
    let throttled = 0;
    const worker = async (member: number): Promise<void> => {
      const f = fetches[member]!;
      while (!stop.signal.aborted) {
        const res = await f(`${mock.url}/records/1`, { signal: stop.signal }).catch(() => undefined);
        if (res === undefined) return;
        await res.arrayBuffer();
        const at = performance.now();
        if (at > end) return;
        const bucket = perSecond[Math.floor((at - start) / 1000)]!;
        if (res.status === 200) bucket.ok++;
        else bucket.throttled++;
        if (res.status === 200) {
          okPerMember[member]!++;
          if (at >= half) okSecondHalf++;
        } else throttled++;
      }
    };
    await Promise.all(fetches.flatMap((_, member) => Array.from({ length: o.workers }, () => worker(member))));
    clearTimeout(timer);
    clearInterval(sampler);
    // Settle: past syncMs every member's next request exchanges with the shared state first.
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      for (const f of fetches) await (await f(`${mock.url}/records/1`)).arrayBuffer();
    }
    const ok = okPerMember.reduce((a, b) => a + b, 0);
    return {
      ok,
      throttled,
      rate: ok / o.seconds,
      rateSecondHalf: okSecondHalf / (o.seconds / 2),
      share429: throttled / Math.max(1, ok + throttled),
      finalRates,
      okPerMember,
      violations: mock.stats().violations.total,
      sharingEvents,
      perSecond,
    };
  } finally {
    for (const client of clients) client.disconnect();
    await mock.close();
  }
}
