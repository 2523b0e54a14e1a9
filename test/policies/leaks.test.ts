// After any policy finishes — success, failure, timeout, abort — no timer is pending and
// no abort listener remains on a signal that could still fire. Counted, not assumed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter } from '../../src/limiters/concurrency-limiter.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { ManualClock } from '../../src/core/clock.js';
import { bulkhead, circuitBreaker, compose, constant, fallback, hedge, rateLimit, retry, timeout, type PolicyContext } from '../../src/policies/index.js';
import { trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();

type Execute = (fn: (c: PolicyContext) => Promise<unknown>, ctx: Partial<PolicyContext>) => Promise<unknown>;

const policies: Record<string, (clock: ManualClock) => Execute> = {
  retry: (clock) => (fn, ctx) => retry({ clock, attempts: 2, backoff: constant(10) }).execute(fn, ctx),
  timeout: (clock) => (fn, ctx) => timeout(50, { clock }).execute(fn, ctx),
  breaker: (clock) => (fn, ctx) => circuitBreaker({ clock }).execute(fn, ctx),
  'breaker probe': (clock) => {
    const breaker = circuitBreaker({ clock, openMs: 0 });
    breaker.restore({ state: 'open', openRemainingMs: 0, opens: 1, savedAt: 0 }, 0);
    return (fn, ctx) => breaker.execute(fn, ctx);
  },
  hedge: (clock) => (fn, ctx) => hedge({ delayMs: 10, maxHedges: 2, clock }).execute(fn, ctx),
  fallback: () => (fn, ctx) => fallback('fallback').execute(fn, ctx),
  'rate limit (waiting)': (clock) => {
    const limiter = new RateLimiter({ limits: '1/1s', clock });
    void limiter.acquire(); // the next call waits for ~1 s
    return (fn, ctx) => rateLimit(limiter).execute(fn, ctx);
  },
  bulkhead: () => (fn, ctx) => bulkhead(new ConcurrencyLimiter({ limit: 1 })).execute(fn, ctx),
  'the recommended stack': (clock) => (fn, ctx) =>
    compose(
      timeout(5000, { clock }),
      retry({ clock, attempts: 3, backoff: constant(10) }),
      circuitBreaker({ clock }),
      rateLimit(new RateLimiter({ limits: '10/1s', clock })),
      bulkhead(new ConcurrencyLimiter({ limit: 2 })),
      hedge({ delayMs: 20, clock }),
      timeout(100, { clock }),
    ).execute(fn, ctx),
};

/** Work that honours its signal the way well-behaved code does: through clock.sleep. */
const scenarios: Record<string, { work: (clock: ManualClock) => (c: PolicyContext) => Promise<unknown>; abortAt?: number }> = {
  success: { work: (clock) => ({ signal }) => clock.sleep(5, signal).then(() => 'ok') },
  failure: { work: (clock) => ({ signal }) => clock.sleep(5, signal).then(() => Promise.reject(new Error('down'))) },
  'synchronous throw': {
    work: () => () => {
      throw new Error('sync');
    },
  },
  'slower than every timeout': { work: (clock) => ({ signal }) => clock.sleep(60_000, signal) },
  'caller aborts midway': { work: (clock) => ({ signal }) => clock.sleep(60_000, signal), abortAt: 25 },
  'caller aborted before the call': { work: (clock) => ({ signal }) => clock.sleep(5, signal), abortAt: -1 },
  'work ignores its signal and never settles, caller aborts': { work: () => () => new Promise(() => {}), abortAt: 25 },
};

describe('no timer or abort listener is left behind', () => {
  for (const [policyName, make] of Object.entries(policies)) {
    for (const [scenarioName, { work, abortAt }] of Object.entries(scenarios)) {
      it(`${policyName}: ${scenarioName}`, async () => {
        const clock = new ManualClock();
        const base = listeners.live();
        const controller = new AbortController();
        if (abortAt === -1) controller.abort();
        else if (abortAt !== undefined) clock.timer(() => controller.abort(), abortAt);
        const execute = make(clock);
        let settled = false;
        execute(work(clock), { signal: controller.signal }).then(
          () => (settled = true),
          () => (settled = true),
        );
        await clock.advance(120_000);
        // Work that ignores its signal is only cut loose by policies that race it against the
        // caller's abort (timeout, hedge, a breaker probe) or that were still waiting to start it.
        const cutLoose = ['timeout', 'hedge', 'breaker probe', 'rate limit (waiting)', 'the recommended stack'].includes(policyName);
        assert.equal(settled, !scenarioName.startsWith('work ignores') || cutLoose, 'settled');
        assert.equal(clock.pendingTimers, 0, 'timers left');
        assert.equal(listeners.live(), base, 'abort listeners left');
      });
    }
  }
});
