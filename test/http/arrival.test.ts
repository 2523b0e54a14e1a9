import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, RateLimiter } from '../../src/index.js';
import { sluiceFetch, type FetchFn } from '../../src/http/index.js';

/**
 * A fetch double on a ManualClock: answers after `latencyMs`, 429 (Retry-After 1) for the
 * requests whose number (from 1) `refuse` names, 200 otherwise; records when each was sent.
 */
function server(clock: ManualClock, latencyMs: number, refuse: (n: number) => boolean): FetchFn & { sent: number[] } {
  const sent: number[] = [];
  const fn: FetchFn = async () => {
    sent.push(clock.now());
    const n = sent.length;
    await clock.sleep(latencyMs);
    return refuse(n) ? new Response('', { status: 429, headers: { 'retry-after': '1' } }) : new Response('{}');
  };
  return Object.assign(fn, { sent });
}

/** Moves `clock` on in steps of 10 ms (each timer fires at its own instant) until `work` settles. */
async function drive<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let done = false;
  void work.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; !done && i < 100_000; i++) await clock.advance(10);
  return work;
}

/** Runs `n` calls at once through `f` to their end on `clock`. */
function callAll(clock: ManualClock, f: (url: string) => Promise<Response>, n: number): Promise<number[]> {
  return drive(clock, Promise.all(Array.from({ length: n }, () => f('https://api.test/x').then((r) => r.status))));
}

describe('sluiceFetch at the server: the arrival margin and the first answer', () => {
  it('a 429 while the whole rate is in use widens the margin of the limiter behind it; the adaptive rate is not cut', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '10/1s', clock });
    const rates: number[] = [];
    const f = sluiceFetch({ rate: limiter, fetch: server(clock, 5, (n) => n === 40), retry: false, clock, onEvent: (e) => e.type === 'response' && e.rate !== undefined && rates.push(e.rate) });
    assert.deepEqual(await callAll(clock, f, 60).then((statuses) => statuses.filter((s) => s === 429).length), 1);
    assert.equal(limiter.limits[0]!.jitterMs, 20, 'widened from 0 (ManualClock) by the default for 1 s');
    assert.ok(rates.length === 60 && rates.every((rate) => rate === 10), `the rate stayed at 10/s: ${[...new Set(rates)].join(', ')}`);
  });

  it('a 429 while sending well below the configured rate cuts it, as before', async () => {
    const clock = new ManualClock();
    const rates: number[] = [];
    const f = sluiceFetch({ rate: '100/1s', fetch: server(clock, 5, (n) => n === 5), retry: false, clock, onEvent: (e) => e.type === 'response' && e.rate !== undefined && rates.push(e.rate) });
    await callAll(clock, f, 20);
    assert.ok(rates.some((rate) => rate < 100), `cut: ${[...new Set(rates)].join(', ')}`);
  });

  it('the first request goes alone and is counted from its answer: the next window opens that much later', async () => {
    const clock = new ManualClock();
    const fake = server(clock, 30, () => false);
    const f = sluiceFetch({ rate: { limit: 2, interval: 1000 }, adaptive: false, fetch: fake, retry: false, clock });
    await callAll(clock, f, 3);
    // Paced at one per 500 ms (less 1 ms of slack) from the first's answer at 30, the second
    // goes at 529; the third when the first's count, from 30, leaves the window: 1030.
    // Counted from its start, the first would have let them go at 499 and 1000.
    assert.deepEqual(fake.sent, [0, 529, 1030]);
  });

  it('a first request that fails without an answer lets the next go alone in its place', async () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const fake: FetchFn = async () => {
      sent.push(clock.now());
      await clock.sleep(30);
      if (sent.length === 1) throw new TypeError('fetch failed');
      return new Response('{}');
    };
    const f = sluiceFetch({ rate: { limit: 3, interval: 1000 }, adaptive: false, fetch: fake, retry: false, clock });
    const calls = Array.from({ length: 3 }, () => f('https://api.test/x').then((r) => r.status, () => 'failed'));
    assert.deepEqual(await drive(clock, Promise.all(calls)), ['failed', 200, 200]);
    assert.ok(sent[1]! >= 30 && sent[2]! >= sent[1]! + 30, `each went alone until one was answered: ${sent.join(', ')}`);
  });

  it('arrivalJitter reaches the limiter it makes; with a RateLimiter given it is a ConfigError naming the field', () => {
    const clock = new ManualClock();
    assert.throws(() => sluiceFetch({ rate: new RateLimiter({ limits: '1/s', clock }), arrivalJitter: '5ms', clock }), /arrivalJitter/);
    assert.throws(() => sluiceFetch({ rate: '1/s', arrivalJitter: 'soon', clock }), /arrivalJitter/);
  });
});
