import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter } from '../../src/limiters/concurrency-limiter.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { ManualClock } from '../../src/core/clock.js';
import { CircuitOpenError, RateLimitedError, TimeoutError } from '../../src/core/errors.js';
import {
  bulkhead,
  circuitBreaker,
  compose,
  constant,
  fallback,
  hedge,
  rateLimit,
  retry,
  timeout,
  type Policy,
  type PolicyContext,
} from '../../src/policies/index.js';
import { deferredCalls, track, trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();

/** A policy that records what it saw and passes a context of its own down. */
function spy(name: string, log: string[]): Policy {
  return {
    execute<T>(fn: (c: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
      log.push(`${name}:in:${context?.attempt ?? '-'}`);
      const controller = new AbortController();
      context?.signal?.addEventListener('abort', () => controller.abort(context.signal?.reason), { once: true });
      return Promise.resolve(fn({ signal: controller.signal, attempt: (context?.attempt ?? 0) + 10 })).finally(() => log.push(`${name}:out`));
    },
  };
}

describe('compose', () => {
  it('wraps outer → inner and hands each layer the context the outer one made', async () => {
    const log: string[] = [];
    const policy = compose(spy('a', log), spy('b', log), spy('c', log));
    const result = await policy.execute(({ attempt }) => attempt, { attempt: 1 });
    assert.equal(result, 31);
    assert.deepEqual(log, ['a:in:1', 'b:in:11', 'c:in:21', 'c:out', 'b:out', 'a:out']);
  });

  it('compose() runs the function once with a signal and attempt 1', async () => {
    const seen = await compose().execute((ctx) => ctx);
    assert.equal(seen.attempt, 1);
    assert.ok(seen.signal instanceof AbortSignal);
    await assert.rejects(
      compose().execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
  });

  it("threads the caller's AbortSignal through retry, breaker and timeout to the work", async () => {
    const clock = new ManualClock();
    const policy = compose(retry({ clock, budget: false }), circuitBreaker({ clock }), timeout(10_000, { clock }));
    const { fn, calls } = deferredCalls<string>();
    const base = listeners.live();
    const controller = new AbortController();
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(0);
    controller.abort(new Error('caller left'));
    await clock.advance(0);
    assert.equal(calls[0]!.signal.aborted, true);
    assert.equal((call.error as Error).message, 'caller left');
    assert.equal(calls.length, 1, 'an abort is not retried');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(listeners.live(), base);
  });

  it('a per-attempt timeout inside retry gives each attempt its own signal and its timeouts are retried', async () => {
    const clock = new ManualClock();
    const policy = compose(retry({ clock, budget: false, attempts: 3, backoff: constant(50) }), timeout(100, { clock }));
    const signals: AbortSignal[] = [];
    const call = track(
      policy.execute(({ signal, attempt }) => {
        signals.push(signal);
        return attempt < 3 ? new Promise<string>(() => {}) : 'third time';
      }),
    );
    await clock.advance(100 + 50 + 100 + 50);
    assert.equal(call.value, 'third time');
    assert.equal(signals.length, 3);
    assert.ok(signals[0]!.aborted && signals[0]!.reason instanceof TimeoutError);
    assert.notEqual(signals[0], signals[1]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('the recommended stack: deadline → retry → breaker → rate limit → concurrency → attempt timeout', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 3, openMs: 5000, clock });
    const limiter = new RateLimiter({ limits: '2/1s', clock });
    const pool = new ConcurrencyLimiter({ limit: 1 });
    const policy = compose(
      timeout('30s', { clock }),
      retry({ clock, attempts: 4, backoff: constant(10), budget: false }),
      breaker,
      rateLimit(limiter),
      bulkhead(pool),
      timeout('2s', { clock }),
    );
    const starts: number[] = [];
    const flaky = async ({ attempt }: PolicyContext) => {
      starts.push(clock.now());
      if (attempt < 3) throw Object.assign(new Error('503'), { status: 503 });
      return `ok on attempt ${attempt}`;
    };
    const call = track(policy.execute(flaky));
    await clock.advance(5000);
    assert.equal(call.value, 'ok on attempt 3');
    // 2 per second, evenly paced: attempts start ~500 ms apart, not 10 ms (the retry delay);
    // the limiter may start one up to its slack early (README, "slack").
    assert.equal(starts.length, 3);
    const slack = limiter.limits[0]!.slackMs;
    for (let i = 1; i < 3; i++) assert.ok(starts[i]! - starts[i - 1]! >= 500 - slack, `attempts ${starts} closer than the rate allows`);
    assert.equal(breaker.state, 'closed');
    assert.equal(clock.pendingTimers, 0);
  });

  it("retry honours a rate limiter's refusal through its retryAfterMs", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '1/1s', clock });
    const policy = compose(retry({ clock, budget: false, backoff: constant(1) }), rateLimit(limiter, { maxWaitMs: 0 }));
    assert.equal(await policy.execute(() => 'first'), 'first');
    const starts: number[] = [];
    const call = track(policy.execute(() => starts.push(clock.now())));
    await clock.advance(0);
    assert.deepEqual(starts, []);
    await clock.advance(1000);
    assert.deepEqual(starts, [1000]);
    assert.equal(call.value, 1);
  });

  it('retry does not hammer an open breaker; a fallback outermost answers instead', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ consecutiveFailures: 1, clock });
    const policy = compose(fallback('stale'), retry({ clock, budget: false, backoff: constant(0) }), breaker);
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error('down');
    };
    const call = track(policy.execute(failing));
    await clock.advance(0);
    assert.equal(call.value, 'stale');
    assert.equal(calls, 1, 'the first failure opened the breaker; the retry got CircuitOpenError and stopped');
    await assert.rejects(compose(retry({ clock, budget: false }), breaker).execute(failing), CircuitOpenError);
  });

  it('bulkhead: at most `limit` run at once; an aborted waiter leaves the queue', async () => {
    const pool = new ConcurrencyLimiter({ limit: 1 });
    const policy = bulkhead(pool);
    const { fn, calls } = deferredCalls<string>();
    const a = track(policy.execute(fn));
    const controller = new AbortController();
    const b = track(policy.execute(fn, { signal: controller.signal }));
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 1);
    controller.abort(new Error('no wait'));
    calls[0]!.resolve('a');
    await new Promise((r) => setImmediate(r));
    assert.equal(a.value, 'a');
    assert.equal((b.error as Error).message, 'no wait');
    assert.equal(calls.length, 1);
  });

  it('rate limit: a wait longer than maxWaitMs is a RateLimitedError with retryAfterMs', async () => {
    const clock = new ManualClock();
    const policy = rateLimit(new RateLimiter({ limits: '1/1s', clock }), { maxWaitMs: 100 });
    await policy.execute(() => 1);
    await assert.rejects(policy.execute(() => 2), (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 1000);
  });

  it('hedge composes too: inside a timeout, the timeout aborts every attempt', async () => {
    const clock = new ManualClock();
    const policy = compose(timeout(300, { clock }), hedge({ delayMs: 100, maxHedges: 2, clock }));
    const { fn, calls } = deferredCalls<string>();
    const call = track(policy.execute(fn));
    await clock.advance(300);
    assert.equal(calls.length, 3);
    assert.ok(call.error instanceof TimeoutError);
    assert.ok(calls.every((c) => c.signal.aborted));
    assert.equal(clock.pendingTimers, 0);
  });
});
