import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { parseFeedback } from '../../src/http/feedback/parse.js';
import type { HeaderDialect } from '../../src/http/mock/index.js';
import { WindowLog } from '../../src/http/mock/window.js';
import { LimitPartitions } from '../../src/http/mock/limits.js';
import fc from 'fast-check';
import { getJson, withMock } from './mock-helpers.js';

const EPOCH = Date.parse('2026-11-23T12:00:00Z');

describe('mock API: enforced limits', () => {
  it('admits exactly the limit per window, answers 429 with Retry-After, and counts each violation', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '5/1s', clock, startEpochMs: EPOCH }, async (mock) => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${mock.url}/records/1`).then(async (r) => (await r.arrayBuffer(), r.status))));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
      const refused = await getJson(`${mock.url}/records/1`);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(refused.headers.get('ratelimit'), '"per-1s";r=0;t=1');
      assert.equal(refused.headers.get('ratelimit-policy'), '"per-1s";q=5;w=1');
      await clock.advance(999);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 429);
      await clock.advance(1);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 200);
      const stats = mock.stats();
      assert.equal(stats.violations.total, 5);
      assert.deepEqual(stats.violations.byLimit, { 'per-1s': 5 });
      assert.equal(stats.throttled, 5);
      assert.equal(stats.requests, 11);
    });
  });

  const dialects: [HeaderDialect, (h: Headers) => void][] = [
    ['ietf', (h) => assert.equal(h.get('ratelimit'), '"per-10s";r=0;t=5')],
    ['ietf-triple', (h) => assert.deepEqual([h.get('ratelimit-limit'), h.get('ratelimit-remaining'), h.get('ratelimit-reset')], ['3', '0', '5'])],
    ['x', (h) => assert.deepEqual([h.get('x-ratelimit-limit'), h.get('x-ratelimit-remaining'), h.get('x-ratelimit-reset')], ['3', '0', String((EPOCH + 10_000) / 1000)])],
    ['openai', (h) => assert.deepEqual([h.get('x-ratelimit-remaining-requests'), h.get('x-ratelimit-reset-requests'), h.get('retry-after-ms')], ['0', '9s', '5000'])],
    ['none', (h) => assert.deepEqual([...h.keys()].filter((k) => /ratelimit|retry-after/.test(k)), [])],
  ];
  for (const [dialect, check] of dialects) {
    it(`header dialect ${dialect}: what the 429 says is what parseFeedback reads`, async () => {
      const clock = new ManualClock();
      await withMock({ limits: '3/10s', headers: dialect, clock, startEpochMs: EPOCH }, async (mock) => {
        for (const t of [0, 2000, 4000]) {
          await clock.advance(t - clock.now());
          assert.equal((await getJson(`${mock.url}/records/1`)).status, 200);
        }
        await clock.advance(1000); // t = 5000: full until the request of t = 0 leaves at 10 000
        const { status, headers } = await getJson(`${mock.url}/records/1`);
        assert.equal(status, 429);
        check(headers);
        const feedback = parseFeedback({ status, headers }, { now: EPOCH + 5000 });
        assert.equal(feedback.throttled, true);
        assert.equal(feedback.retryAfterMs, dialect === 'none' ? undefined : 5000);
        if (dialect !== 'none') assert.deepEqual([feedback.limit, feedback.remaining], [3, 0]);
      });
    });
  }

  it('X-RateLimit-Reset as delta seconds', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '1/30s', headers: 'x', xReset: 'delta', clock }, async (mock) => {
      await getJson(`${mock.url}/records/1`);
      await clock.advance(10_000);
      const { headers } = await getJson(`${mock.url}/records/1`);
      assert.equal(headers.get('x-ratelimit-reset'), '20');
    });
  });

  it('several limits, one quota per API key', async () => {
    const clock = new ManualClock();
    await withMock({ limits: ['2/1s', '3/10s'], limitBy: 'key', clock }, async (mock) => {
      const get = async (key: string): Promise<number> => (await getJson(`${mock.url}/records/1`, { headers: { 'x-api-key': key } })).status;
      assert.deepEqual([await get('a'), await get('a'), await get('a')], [200, 200, 429]); // per-1s full
      await clock.advance(1000);
      assert.deepEqual([await get('a'), await get('a')], [200, 429]); // now per-10s is full
      assert.deepEqual([await get('b'), await get('b')], [200, 200]); // another key, its own quota
      const { headers } = await getJson(`${mock.url}/records/1`, { headers: { 'x-api-key': 'a' } });
      assert.equal(headers.get('ratelimit'), '"per-1s";r=1;t=1, "per-10s";r=0;t=9');
      assert.deepEqual(mock.stats().violations, { total: 3, byLimit: { 'per-1s': 1, 'per-10s': 2 } });
    });
  });

  it('timeScale runs mock minutes in real seconds and reports real time', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '2/1m', timeScale: 60, clock }, async (mock) => {
      await getJson(`${mock.url}/records/1`);
      await getJson(`${mock.url}/records/1`);
      const { status, headers } = await getJson(`${mock.url}/records/1`);
      assert.equal(status, 429);
      assert.equal(headers.get('ratelimit-policy'), '"per-1s";q=2;w=1');
      await clock.advance(1000);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 200);
    });
  });

  it('grace admits a request that early, for clients across a jittery network', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '1/1s', grace: 5, clock }, async (mock) => {
      await getJson(`${mock.url}/records/1`);
      await clock.advance(994);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 429);
      await clock.advance(1);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 200);
    });
  });
});

describe('mock API: violations are counted exactly', () => {
  it('a client that ignores the limit: every request beyond it is one violation', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '10/1s', clock }, async (mock) => {
      const burst = async (n: number): Promise<void> => {
        await Promise.all(Array.from({ length: n }, () => getJson(`${mock.url}/records/1`)));
      };
      await burst(25); // t = 0: 10 fit, 15 violate
      await clock.advance(500);
      await burst(25); // t = 500: the window still holds 10, all 25 violate
      await clock.advance(500);
      await burst(25); // t = 1000: the first 10 have left, 10 fit, 15 violate
      const stats = mock.stats();
      assert.equal(stats.violations.total, 55);
      assert.equal(stats.statuses['200'], 20);
      assert.equal(stats.throttled, 55);
    });
  });

  it("a client paced by sluice's RateLimiter at the same limit causes none", async () => {
    const clock = new ManualClock();
    await withMock({ limits: ['10/1s', '25/5s'], clock }, async (mock) => {
      const limiter = new RateLimiter({ limits: ['10/1s', '25/5s'], clock, burst: 10 });
      let sent = 0;
      while (sent < 80) {
        const decision = await limiter.tryAcquire();
        if (!decision.granted) {
          await clock.advance(decision.retryAfterMs);
          continue;
        }
        assert.equal((await getJson(`${mock.url}/records/1`)).status, 200);
        sent++;
      }
      assert.equal(mock.stats().violations.total, 0);
      assert.equal(mock.stats().statuses['200'], 80);
    });
  });
});

describe('WindowLog: the referee', () => {
  it('waits exactly until enough cost has left the window', () => {
    const log = new WindowLog(10, 1000);
    log.add(0, 4);
    log.add(300, 4);
    assert.equal(log.waitMs(500, 2), 0);
    assert.equal(log.waitMs(500, 3), 500); // the 4 of t = 0 must leave
    assert.equal(log.waitMs(500, 7), 800); // both must leave
    assert.equal(log.waitMs(500, 11), Infinity);
    assert.equal(log.used(1000), 4);
    assert.equal(log.nextFreeMs(1000), 300);
    assert.equal(log.fullResetMs(1000), 300);
    assert.equal(log.used(1300), 0);
  });
});

describe('LimitPartitions: exact, by brute force', () => {
  it('admits a request exactly when fewer than N admitted requests lie in (t - T, t], for every limit, and names the exact wait', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ limit: fc.integer({ min: 1, max: 6 }), interval: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 120 }),
        (specs, gaps) => {
          const limits = specs.map((s, i) => ({ name: `l${i}`, limit: s.limit, intervalMs: s.interval }));
          const partitions = new LimitPartitions(limits, 0);
          const admitted: number[] = [];
          let t = 0;
          for (const gap of gaps) {
            t += gap;
            const full = limits.filter((l) => admitted.filter((a) => t - a < l.intervalMs).length >= l.limit).map((l) => l.name);
            const decision = partitions.admit('k', t);
            assert.deepEqual(decision.violated, full);
            assert.equal(decision.admitted, full.length === 0);
            if (decision.admitted) admitted.push(t);
            else {
              // The exact wait: until enough of the oldest requests in each full window have left it.
              const wait = Math.max(
                ...limits.map((l) => {
                  const inWindow = admitted.filter((a) => t - a < l.intervalMs);
                  return inWindow.length < l.limit ? 0 : inWindow[inWindow.length - l.limit]! + l.intervalMs - t;
                }),
              );
              assert.equal(decision.waitMs, wait);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
