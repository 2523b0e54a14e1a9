import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { CircuitOpenError, ConfigError, QueueFullError } from '../../src/core/errors.js';
import { circuitBreaker, exponential, type CircuitBreaker, type OpenEvent } from '../../src/policies/index.js';
import { deferredCalls, httpError, track, trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();
const ok = () => 'ok';
const fail = () => {
  throw new Error('down');
};

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await breaker.execute(fail).catch(() => {});
}

async function refusal(promise: Promise<unknown>): Promise<CircuitOpenError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CircuitOpenError, `expected CircuitOpenError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('circuitBreaker', () => {
  describe('state machine', () => {
    it('opens on exactly `consecutiveFailures` in a row; a success resets the count', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 3, clock });
      await failTimes(breaker, 2);
      await breaker.execute(ok);
      await failTimes(breaker, 2);
      assert.equal(breaker.state, 'closed');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open');
    });

    it('refuses while open with the exact time left, and half-opens at exactly openMs', async () => {
      const clock = new ManualClock(1000);
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 5000, clock });
      const events: string[] = [];
      breaker.onOpen((e) => events.push(`open:${e.reason}:${e.openMs}@${clock.now()}`));
      breaker.onHalfOpen(() => events.push(`half-open@${clock.now()}`));
      breaker.onClose(() => events.push(`close@${clock.now()}`));
      await failTimes(breaker, 1);
      let calls = 0;
      const count = () => ++calls;
      await clock.advance(4999);
      const error = await refusal(breaker.execute(count));
      assert.equal(error.retryAfterMs, 1);
      assert.equal(calls, 0);
      assert.equal(breaker.state, 'open');
      await clock.advance(1);
      assert.equal(breaker.state, 'half-open');
      assert.equal(await breaker.execute(count), 1);
      assert.equal(breaker.state, 'closed');
      assert.deepEqual(events, ['open:consecutive-failures:5000@1000', 'half-open@6000', 'close@6000']);
      assert.equal(clock.pendingTimers, 0, 'an open breaker keeps no timer');
    });

    it('half-open admits exactly N probes among 100 concurrent callers; the rest get retryAfterMs', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 1000, halfOpenProbes: 3, clock });
      await failTimes(breaker, 1);
      await clock.advance(1000);
      const { fn, calls } = deferredCalls<string>();
      const results = Array.from({ length: 100 }, () => track(breaker.execute(fn)));
      await clock.advance(0);
      assert.equal(calls.length, 3);
      const refused = results.filter((r) => r.error instanceof CircuitOpenError);
      assert.equal(refused.length, 97);
      for (const r of refused) assert.ok((r.error as CircuitOpenError).retryAfterMs > 0);
      calls[0]!.resolve('a');
      calls[1]!.resolve('b');
      await clock.advance(0);
      assert.equal(breaker.state, 'half-open', 'closes only when all N probes succeeded');
      await refusal(breaker.execute(ok));
      calls[2]!.resolve('c');
      await clock.advance(0);
      assert.equal(breaker.state, 'closed');
      assert.equal(await breaker.execute(ok), 'ok');
    });

    it('a failed probe reopens at once; the other probes then count for nothing', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 1000, halfOpenProbes: 2, clock });
      await failTimes(breaker, 1);
      await clock.advance(1000);
      const { fn, calls } = deferredCalls<string>();
      const a = track(breaker.execute(fn));
      const b = track(breaker.execute(fn));
      await clock.advance(0);
      calls[0]!.reject(new Error('still down'));
      await clock.advance(0);
      assert.equal(breaker.state, 'open');
      calls[1]!.resolve('late');
      await clock.advance(0);
      assert.equal(b.value, 'late');
      assert.ok(a.error instanceof Error);
      assert.equal(breaker.state, 'open');
      assert.equal((await refusal(breaker.execute(ok))).retryAfterMs, 1000);
    });

    it('an aborted probe gives its slot back at once, even if the work ignores the signal', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 10, clock });
      await failTimes(breaker, 1);
      await clock.advance(10);
      const base = listeners.live();
      const controller = new AbortController();
      const stuck = track(breaker.execute(() => new Promise<never>(() => {}), { signal: controller.signal }));
      await clock.advance(0);
      await refusal(breaker.execute(ok));
      controller.abort(new Error('caller gave up'));
      await clock.advance(0);
      assert.equal((stuck.error as Error).message, 'caller gave up');
      assert.equal(breaker.state, 'half-open');
      assert.equal(await breaker.execute(ok), 'ok');
      assert.equal(breaker.state, 'closed');
      assert.equal(listeners.live(), base);
    });

    it('a probe whose error is filtered (ignored) frees its slot; so does a refusal from an inner limiter', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 10, clock });
      await failTimes(breaker, 1);
      await clock.advance(10);
      await assert.rejects(breaker.execute(() => Promise.reject(new QueueFullError('full', 5))), QueueFullError);
      assert.equal(breaker.state, 'half-open');
      await assert.rejects(
        breaker.execute(() => Promise.reject(new DOMException('x', 'AbortError'))),
        (e: unknown) => (e as Error).name === 'AbortError',
      );
      assert.equal(breaker.state, 'half-open');
      assert.equal(await breaker.execute(ok), 'ok');
      assert.equal(breaker.state, 'closed');
    });

    it('outcomes of calls started before a transition are not counted after it', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 2, openMs: 100, clock });
      const { fn, calls } = deferredCalls<string>();
      const slow = track(breaker.execute(fn));
      await failTimes(breaker, 2);
      assert.equal(breaker.state, 'open');
      await clock.advance(100);
      assert.equal(breaker.state, 'half-open');
      calls[0]!.resolve('from before');
      await clock.advance(0);
      assert.equal(slow.value, 'from before');
      assert.equal(breaker.state, 'half-open', 'an old success is not a probe');
    });

    it('openMs can grow with repeated opens and starts over once closed', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: exponential(1000).cap(3000), clock });
      const durations: number[] = [];
      breaker.onOpen((e: OpenEvent) => durations.push(e.openMs));
      await failTimes(breaker, 1);
      for (const wait of [1000, 2000, 3000]) {
        await clock.advance(wait);
        await failTimes(breaker, 1); // the probe fails
      }
      await clock.advance(3000);
      await breaker.execute(ok);
      await failTimes(breaker, 1);
      assert.deepEqual(durations, [1000, 2000, 3000, 3000, 1000]);
    });

    it('a jittered openMs draws on the injected random, and refusals say the time drawn', async () => {
      const clock = new ManualClock();
      const draws = [0.5, 0.25];
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: exponential(1000).fullJitter(), clock, random: () => draws.shift()! });
      const durations: number[] = [];
      breaker.onOpen((e: OpenEvent) => durations.push(e.openMs));
      await failTimes(breaker, 1);
      assert.equal((await refusal(breaker.execute(ok))).retryAfterMs, 500);
      await clock.advance(500);
      await failTimes(breaker, 1); // the probe fails: 2000 × 0.25
      assert.deepEqual(durations, [500, 500]);
      await clock.advance(499);
      assert.equal((await refusal(breaker.execute(ok))).retryAfterMs, 1);
      assert.equal(draws.length, 0);
    });
  });

  describe('rates over a sliding window', () => {
    it('opens when failures / calls reach failureRate, only after minimumCalls', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ failureRate: 0.5, minimumCalls: 10, windowMs: 10_000, clock });
      await failTimes(breaker, 4);
      for (let i = 0; i < 5; i++) await breaker.execute(ok);
      assert.equal(breaker.state, 'closed', '9 calls: below minimumCalls');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open', '5 of 10 failed');
    });

    it('forgets calls older than the window', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ failureRate: 0.5, minimumCalls: 4, windowMs: 10_000, clock });
      await failTimes(breaker, 3);
      await clock.advance(10_000);
      await breaker.execute(ok);
      await breaker.execute(ok);
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'closed', 'only 1 of the 3 calls in the window failed');
      await failTimes(breaker, 1);
      assert.equal(breaker.state, 'open', '2 of 4');
    });

    it('opens on the slow-call rate; a slow probe counts as failed', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ slowCallRate: 0.5, slowCallMs: 100, failureRate: 1, minimumCalls: 2, openMs: 50, clock });
      const slow = () => clock.sleep(100).then(() => 'slow');
      track(breaker.execute(slow));
      await breaker.execute(ok);
      await clock.advance(100);
      assert.equal(breaker.state, 'open');
      await clock.advance(50);
      track(breaker.execute(slow));
      await clock.advance(100);
      assert.equal(breaker.state, 'open');
    });

    it('classifies: 4xx errors are successes, 5xx/429 results failures, refusals ignored', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 2, clock });
      await breaker.execute(fail).catch(() => {});
      await breaker.execute(() => Promise.reject(httpError(404))).catch(() => {});
      await breaker.execute(fail).catch(() => {});
      assert.equal(breaker.state, 'closed', 'the 404 broke the run of failures');
      await breaker.execute(() => Promise.reject(new QueueFullError('full', 1))).catch(() => {});
      await breaker.execute(() => new Response('', { status: 503 }));
      assert.equal(breaker.state, 'open', 'the refusal was ignored; the 503 response failed');
    });
  });

  describe('manual control and snapshots', () => {
    it('isolate() refuses with retryAfterMs Infinity until reset()', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock });
      breaker.isolate();
      assert.equal(breaker.state, 'isolated');
      assert.equal((await refusal(breaker.execute(ok))).retryAfterMs, Number.POSITIVE_INFINITY);
      await clock.advance(1e9);
      assert.equal(breaker.state, 'isolated');
      breaker.reset();
      assert.equal(await breaker.execute(ok), 'ok');
    });

    it('toJSON / restore carries an open breaker over, less the time since it was saved', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ consecutiveFailures: 1, openMs: 10_000, clock });
      await failTimes(breaker, 1);
      await clock.advance(4000);
      const snapshot = JSON.parse(JSON.stringify(breaker)) as ReturnType<CircuitBreaker['toJSON']>;
      assert.equal(snapshot.state, 'open');
      assert.equal(snapshot.openRemainingMs, 6000);

      const clock2 = new ManualClock(50);
      const restored = circuitBreaker({ consecutiveFailures: 1, openMs: 10_000, clock: clock2 });
      restored.restore(snapshot, snapshot.savedAt + 1000);
      assert.equal((await refusal(restored.execute(ok))).retryAfterMs, 5000);
      await clock2.advance(5000);
      assert.equal(restored.state, 'half-open');

      const isolated = circuitBreaker({ clock: clock2 });
      isolated.restore({ state: 'isolated', openRemainingMs: 0, opens: 0, savedAt: 0 });
      assert.equal(isolated.state, 'isolated');
      assert.throws(() => isolated.restore({ state: 'weird' as 'open', openRemainingMs: 0, opens: 0, savedAt: 0 }), ConfigError);
    });

    it('rejects bad options with ConfigError naming the field', () => {
      assert.throws(() => circuitBreaker({ failureRate: 2 }), (e: unknown) => e instanceof ConfigError && e.field === 'failureRate');
      assert.throws(() => circuitBreaker({ slowCallRate: 0.5 }), (e: unknown) => e instanceof ConfigError && e.field === 'slowCallMs');
      assert.throws(() => circuitBreaker({ halfOpenProbes: 0 }), ConfigError);
      assert.throws(() => circuitBreaker({ consecutiveFailures: 0 }), ConfigError);
    });
  });

  it('property: random success / failure / slow / abort / filtered sequences never leave it stuck', async () => {
    type Kind = 'success' | 'failure' | 'slow' | 'abort' | 'filtered' | 'hang-until-abort';
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom<Kind>('success', 'failure', 'slow', 'abort', 'filtered', 'hang-until-abort'), ms: fc.nat({ max: 300 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.nat({ max: 2000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (ops, probes, byRate) => {
          const clock = new ManualClock();
          const breaker = circuitBreaker({
            ...(byRate ? { failureRate: 0.5, minimumCalls: 3, slowCallRate: 0.5, slowCallMs: 200 } : { consecutiveFailures: 2 }),
            openMs: 500,
            halfOpenProbes: probes,
            windowMs: 1000,
            clock,
          });
          const base = listeners.live();
          let probesRunning = 0;
          let maxProbes = 0;
          const calls: Promise<unknown>[] = [];
          for (const { kind, ms } of ops) {
            if (kind === 'advance') {
              await clock.advance(ms);
              continue;
            }
            const controller = new AbortController();
            if (kind === 'abort' || kind === 'hang-until-abort') clock.timer(() => controller.abort(), ms);
            const work = async ({ signal }: { signal: AbortSignal }) => {
              const probe = breaker.state === 'half-open';
              if (probe) maxProbes = Math.max(maxProbes, ++probesRunning);
              try {
                if (kind === 'hang-until-abort') await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
                await clock.sleep(kind === 'slow' ? 200 + ms : ms, signal);
                if (kind === 'failure') throw new Error('down');
                if (kind === 'filtered') throw new QueueFullError('local refusal', 10);
                return kind;
              } finally {
                if (probe) probesRunning--;
              }
            };
            calls.push(breaker.execute(work, { signal: controller.signal }).catch(() => {}));
          }
          await clock.advance(10_000);
          await Promise.all(calls);
          assert.ok(maxProbes <= probes, `${maxProbes} probes ran at once, limit ${probes}`);
          assert.equal(clock.pendingTimers, 0);
          assert.equal(listeners.live(), base);
          // Liveness: whatever happened, a caller who waits retryAfterMs is admitted.
          for (let tries = 0; ; tries++) {
            assert.ok(tries < 2, `stuck in ${breaker.state}`);
            try {
              await breaker.execute(ok);
              break;
            } catch (error) {
              assert.ok(error instanceof CircuitOpenError && Number.isFinite(error.retryAfterMs) && error.retryAfterMs > 0);
              await clock.advance(error.retryAfterMs);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
