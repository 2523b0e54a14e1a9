import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { AimdLimit, Gradient2Limit, RateSizedLimit, VegasLimit } from '../../src/flow/index.js';

const ok = (rttMs: number, inflight: number) => ({ rttMs, inflight, dropped: false });
const drop = (rttMs: number, inflight: number) => ({ rttMs, inflight, dropped: true });

describe('AimdLimit', () => {
  it('multiplies by 0.9 on a drop (30 → 27 → 24) and adds 1 per busy success', () => {
    const aimd = new AimdLimit({ initial: 30, max: 100 });
    assert.equal(aimd.onSample(drop(10, 30)), 27);
    assert.equal(aimd.onSample(drop(10, 27)), 24);
    assert.equal(aimd.onSample(ok(10, 24)), 25);
    assert.equal(aimd.onSample(ok(10, 13)), 26);
  });

  it('does not grow while less than half the limit is in use, and stays within min and max', () => {
    const aimd = new AimdLimit({ initial: 10, min: 5, max: 11 });
    assert.equal(aimd.onSample(ok(10, 4)), 10, 'application-limited: no growth');
    assert.equal(aimd.onSample(ok(10, 10)), 11);
    assert.equal(aimd.onSample(ok(10, 11)), 11, 'capped at max');
    for (let i = 0; i < 20; i++) aimd.onSample(drop(10, 11));
    assert.equal(aimd.limit, 5, 'floored at min');
  });

  it('counts a call slower than timeoutMs as a drop', () => {
    const aimd = new AimdLimit({ initial: 20, timeoutMs: 1000 });
    assert.equal(aimd.onSample(ok(1500, 20)), 18);
  });

  it('rejects bad bounds with ConfigError', () => {
    assert.throws(() => new AimdLimit({ min: 0 }), ConfigError);
    assert.throws(() => new AimdLimit({ min: 10, max: 5 }), ConfigError);
    assert.throws(() => new AimdLimit({ backoffRatio: 1.5 }), ConfigError);
  });
});

describe('Gradient2Limit', () => {
  it('grows while latency stays within tolerance of its long-term level', () => {
    const g = new Gradient2Limit({ initial: 20, max: 200 });
    let limit = g.limit;
    for (let i = 0; i < 50; i++) limit = g.onSample(ok(100 + (i % 3), limit));
    assert.ok(limit > 20, `grew to ${limit}`);
  });

  it('shrinks when latency climbs beyond tolerance × the long-term average, and holds when app-limited', () => {
    const g = new Gradient2Limit({ initial: 50, max: 200 });
    for (let i = 0; i < 100; i++) g.onSample(ok(100, 50));
    const before = g.limit;
    let limit = before;
    for (let i = 0; i < 10; i++) limit = g.onSample(ok(400, limit));
    assert.ok(limit < before, `shrank from ${before} to ${limit}`);
    assert.equal(g.onSample(ok(400, 1)), limit, 'an idle caller proves nothing');
  });
});

describe('VegasLimit', () => {
  const steady = () => 0.99; // probes as late as possible, so the scripted samples decide

  it('grows while the estimated queue is small and shrinks when it is large', () => {
    const v = new VegasLimit({ initial: 20, random: steady });
    v.onSample(ok(100, 20)); // sets the no-load latency
    assert.ok(v.onSample(ok(101, 20)) > 20, 'a queue of ~0 grows the limit by 6·log');
    const grown = v.limit;
    assert.ok(v.onSample(ok(200, grown)) < grown, 'rtt twice no-load: queue ≈ limit/2, shrink');
  });

  it('shrinks on a drop', () => {
    const v = new VegasLimit({ initial: 100, random: steady });
    v.onSample(ok(100, 100));
    assert.equal(v.onSample(drop(100, 100)), 98);
  });
});

describe("RateSizedLimit (concurrency 'auto' with a rate)", () => {
  const perMinute = (n: number) => () => n / 60_000;

  it("sizes by Little's law: rate × slowest recent latency × headroom", () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(100), headroom: 1.5 });
    assert.equal(limit.limit, 1000, 'before any sample the rate limiter alone paces');
    limit.onSample(ok(30_000, 10));
    assert.equal(limit.limit, Math.ceil((100 / 60_000) * 30_000 * 1.5)); // 75
  });

  it('a latency that swings 8–30 s at random does not cut the limit below what the rate needs', () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(100) });
    let x = 7;
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 2000; i++) {
      const rtt = 8000 + rnd() * 22_000;
      const l = limit.onSample(ok(rtt, 40));
      if (i > 64) lowest = Math.min(lowest, l);
    }
    // 100/min for up to 30 s needs 50 in flight; the limit never drops below it.
    assert.ok(lowest >= 50, `lowest ${lowest}`);
    assert.equal(limit.braking, false);
  });

  it('a faster service lowers the limit once the slow samples age out', () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(100) });
    for (let i = 0; i < 100; i++) limit.onSample(ok(30_000, 50));
    for (let i = 0; i < 100; i++) limit.onSample(ok(500, 1));
    assert.equal(limit.limit, Math.ceil((100 / 60_000) * 500 * 1.5)); // 2
  });

  it('latency that keeps climbing under overload shrinks it, and calm samples release the brake', () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(600) });
    for (let i = 0; i < 100; i++) limit.onSample(ok(1000, 10)); // 600/min × 1 s × 1.5 = 15
    assert.equal(limit.limit, 15);
    let rtt = 1000;
    for (let i = 0; i < 60; i++) limit.onSample(ok((rtt *= 1.05), 10)); // a queue builds: every call slower than the last
    assert.ok(limit.braking);
    assert.ok(limit.limit < 10, `overload shrank it below what was in flight: ${limit.limit}`);
    for (let i = 0; i < 400; i++) limit.onSample(ok(1000, limit.limit));
    assert.equal(limit.braking, false, 'released once the service is calm');
    assert.equal(limit.limit, 15);
  });

  it('a drop answered at once does not become the latency floor (one fast 429 must not collapse the limit)', () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(100) });
    for (let i = 0; i < 64; i++) limit.onSample(ok(8000, 15)); // 100/min × 8 s × 1.5 = 20
    assert.equal(limit.limit, 20);
    limit.onSample(drop(2, 15)); // a 429 in 2 ms: brakes once, as a drop should
    for (let i = 0; i < 400; i++) limit.onSample(ok(8000, limit.limit));
    assert.equal(limit.braking, false, 'released: 8 s calls are the service time, not queueing behind a 2 ms floor');
    assert.equal(limit.limit, 20);
  });

  it('a drop brakes at once, from what is in flight, and cuts once per round trip', () => {
    const limit = new RateSizedLimit({ itemsPerMs: perMinute(100) });
    limit.onSample(ok(30_000, 50)); // 75
    assert.equal(limit.onSample(drop(30_000, 49)), 45); // floor(min(75, 49 + 1) × 0.9)
    // The 49 calls in flight at the cut started before it: their drops are not new evidence.
    for (let i = 0; i < 49; i++) limit.onSample(drop(30_000, 49));
    assert.equal(limit.limit, 45);
    assert.equal(limit.onSample(drop(30_000, 44)), 40, 'a round trip later, a drop cuts again');
  });
});
