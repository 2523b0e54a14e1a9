import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { ManualClock } from '../../src/core/clock.js';
import { CircuitOpenError, QueueFullError, TimeoutError } from '../../src/core/errors.js';
import { constant } from '../../src/policies/backoff.js';
import type { Policy, PolicyContext } from '../../src/policies/policy.js';
import { retry } from '../../src/policies/retry.js';
import { timeout } from '../../src/policies/timeout.js';
import { AimdLimit, flow } from '../../src/flow/index.js';
import { collect, drive, range } from './helpers.js';

describe('flow with policies', () => {
  it('every attempt, retries included, is admitted by the rate limiter; results count attempts', async () => {
    const clock = new ManualClock();
    const starts: number[] = [];
    const failedOnce = new Set<number>();
    const results = flow(
      range(4),
      async (i: number, { attempt }) => {
        starts.push(clock.now());
        if (!failedOnce.has(i)) {
          failedOnce.add(i);
          throw new Error(`transient ${i}, attempt ${attempt}`);
        }
        return i;
      },
      { rate: '2/1s', concurrency: 4, retry: retry({ attempts: 3, backoff: constant(100), budget: false, clock }), clock },
    );
    const retried: number[] = [];
    results.on('retried', (e) => retried.push(e.index));
    const out = await drive(clock, collect(results));
    assert.equal(out.length, 4);
    assert.ok(out.every((r) => r.ok && r.attempts === 2));
    assert.equal(starts.length, 8);
    // The limiter's guarantee, retries included: at most 2 starts in any 1 s window.
    for (let i = 2; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 2]! >= 1000, `3 starts within 1 s: ${starts.join(', ')}`);
    assert.deepEqual(retried.sort(), [0, 1, 2, 3]);
    const stats = results.stats();
    assert.equal(stats.retried, 4);
    assert.equal(stats.started, 8);
  });

  it('an open breaker refuses before admission: no quota is spent and the refusal is counted as rejected', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '100/1s', clock });
    let open = true;
    const breaker: Policy = {
      execute<T>(fn: (c: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
        if (open) return Promise.reject(new CircuitOpenError('circuit open', 1000));
        return Promise.resolve(fn({ signal: context!.signal!, attempt: context?.attempt ?? 1 }));
      },
    };
    let calls = 0;
    const results = flow(range(3), (i: number) => {
      calls++;
      return i;
    }, { rate: limiter, breaker, concurrency: 1, clock });
    const rejected: number[] = [];
    results.on('rejected', (e) => rejected.push(e.index));
    const out = await drive(clock, collect(results));
    assert.equal(calls, 0);
    assert.ok(out.every((r) => !r.ok && r.error instanceof CircuitOpenError));
    assert.deepEqual(rejected, [0, 1, 2]);
    assert.equal(results.stats().rejected, 3);
    assert.equal(limiter.stats().admitted, 0, 'an open circuit costs no quota');
    open = false;
  });

  it('a refusal by the rate limiter (queue full) is counted as rejected, retried after its retryAfterMs, and the retry pays its quota', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '1/1s', queueSize: 0, clock });
    const starts: number[] = [];
    const results = flow(range(2), (i: number) => {
      starts.push(clock.now());
      return i;
    }, { rate: limiter, concurrency: 2, retry: retry({ attempts: 3, backoff: constant(0), budget: false, clock }), clock });
    const rejected: unknown[] = [];
    results.on('rejected', (e) => rejected.push(e.error));
    const out = await drive(clock, collect(results));
    assert.deepEqual(out.map((r) => [r.index, r.ok, r.attempts]).sort(), [[0, true, 1], [1, true, 2]]);
    assert.equal(rejected.length, 1);
    assert.ok(rejected[0] instanceof QueueFullError);
    assert.deepEqual(results.stats(), { ...results.stats(), started: 2, retried: 1, rejected: 1 });
    assert.ok(starts[1]! - starts[0]! >= 1000 - limiter.limits[0]!.slackMs, `the retry waited for the quota (starts ${starts.join(', ')})`);
  });

  it('a timeout aborts the slow attempt, counts as a drop, and an AIMD limit backs off 10 → 9', async () => {
    const clock = new ManualClock();
    const limit = new AimdLimit({ initial: 10, max: 10 });
    const results = flow(
      [5, 5000],
      async (ms: number, { signal }) => {
        await clock.sleep(ms, signal);
        return ms;
      },
      { concurrency: limit, timeout: timeout(100, { clock }), clock },
    );
    const limits: number[] = [];
    results.on('limit', (e) => limits.push(e.limit));
    const out = await drive(clock, collect(results));
    assert.equal(out.length, 2);
    const slow = out.find((r) => r.index === 1)!;
    assert.equal(slow.ok, false);
    assert.ok((slow as { error: unknown }).error instanceof TimeoutError);
    assert.deepEqual(limits, [9]);
    assert.equal(results.stats().concurrency, 9);
    assert.equal(clock.pendingTimers, 0, 'the aborted sleep left no timer');
  });

  it('cost(item) is charged to the rate limiter per attempt', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: { rate: '10/1s', burst: 10 }, clock });
    const starts: number[] = [];
    const results = flow([4, 4, 4], () => {
      starts.push(clock.now());
    }, { rate: limiter, cost: (n: number) => n, concurrency: 3, clock });
    await drive(clock, collect(results));
    assert.equal(starts.length, 3);
    assert.ok(starts[2]! - starts[0]! >= 200, `12 units at 10/s need a wait (starts ${starts.join(', ')})`);
  });
});

describe('flow quota guarantee', () => {
  it('at most N attempts start in any window of the limit, whatever fails, retries or aborts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ms: fc.integer({ min: 0, max: 3000 }), failures: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<number | 'auto'>(1, 3, 8, 'auto'),
        async (items, limit, concurrency) => {
          const clock = new ManualClock();
          const starts: number[] = [];
          const failuresLeft = items.map((item) => item.failures);
          const results = flow(
            items.map((_, i) => i),
            async (i: number, { signal }) => {
              starts.push(clock.now());
              await clock.sleep(items[i]!.ms, signal);
              if (failuresLeft[i]!-- > 0) throw new Error('transient');
              return i;
            },
            { rate: `${limit}/1s`, concurrency, retry: retry({ attempts: 3, backoff: constant(50), budget: false, clock }), clock },
          );
          const out = await drive(clock, collect(results));
          assert.equal(out.length, items.length);
          const sorted = [...starts].sort((a, b) => a - b);
          for (let i = limit; i < sorted.length; i++) {
            // 1e-6 ms: the limiter schedules from ideal instants in floating point (2048.33… − 1048.33… = 999.9999999999998).
            assert.ok(sorted[i]! - sorted[i - limit]! >= 1000 - 1e-6, `${limit + 1} starts within 1 s: ${sorted.join(', ')}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
