import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { CircuitOpenError, ConfigError, QueueFullError, RateLimitedError, TimeoutError } from '../../src/core/errors.js';
import { constant, exponential, retry, RetryBudget, type GiveUpEvent, type RetryEvent } from '../../src/policies/index.js';
import { httpError, runAll, seeded, track, trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();

/** A function that fails with `errors` in turn, then returns 'ok'; it records when each attempt started. */
function flaky(clock: ManualClock, errors: unknown[]) {
  const starts: number[] = [];
  const fn = async ({ attempt }: { attempt: number }) => {
    starts.push(clock.now());
    assert.equal(attempt, starts.length, 'attempt numbers count from 1');
    if (errors.length > 0) throw errors.shift();
    return 'ok';
  };
  return { fn, starts };
}

describe('retry', () => {
  it('retries transient errors after each backoff delay, at exact instants', async () => {
    const clock = new ManualClock();
    const { fn, starts } = flaky(clock, [new Error('a'), new Error('b')]);
    const policy = retry({ attempts: 3, backoff: exponential(100), clock, budget: false });
    const call = track(policy.execute(fn));
    await clock.advance(99);
    assert.deepEqual(starts, [0]);
    await clock.advance(1);
    assert.deepEqual(starts, [0, 100]);
    await clock.advance(200);
    assert.deepEqual(starts, [0, 100, 300]);
    assert.equal(call.value, 'ok');
    assert.equal(clock.pendingTimers, 0);
  });

  it('gives up after `attempts` and throws the last error, emitting onGiveUp once', async () => {
    const clock = new ManualClock();
    const policy = retry({ attempts: 3, backoff: constant(10), clock, budget: false });
    const retries: RetryEvent[] = [];
    const giveUps: GiveUpEvent[] = [];
    policy.onRetry((e) => retries.push(e));
    policy.onGiveUp((e) => giveUps.push(e));
    const errors = [new Error('1'), new Error('2'), new Error('3')];
    const call = track(policy.execute(flaky(clock, [...errors]).fn));
    await clock.advance(100);
    assert.equal(call.error, errors[2]);
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.delayMs, r.error]),
      [
        [1, 10, errors[0]],
        [2, 10, errors[1]],
      ],
    );
    assert.deepEqual(giveUps, [{ type: 'give-up', policy: 'retry', attempts: 3, reason: 'attempts', error: errors[2] }]);
  });

  it('does not retry aborts, ConfigErrors, an inner CircuitOpenError, programmer errors or 4xx', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, backoff: constant(0) });
    for (const error of [
      new DOMException('stop', 'AbortError'),
      new ConfigError('x', 1, 'bad'),
      new CircuitOpenError('open', 1000),
      new TypeError('undefined is not a function'),
      httpError(404),
      'a string',
    ]) {
      const { fn, starts } = flaky(clock, [error]);
      await assert.rejects(policy.execute(fn), (e: unknown) => e === error);
      assert.equal(starts.length, 1, `retried ${String(error)}`);
    }
  });

  it('retries 408/425/429/500/502/503/504, network errors, timeouts and local refusals', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, backoff: constant(0), attempts: 2 });
    const network = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) });
    for (const error of [
      ...[408, 425, 429, 500, 502, 503, 504].map((s) => httpError(s)),
      network,
      fetchFailed,
      new TimeoutError('slow', 10),
      new QueueFullError('full', 0),
    ]) {
      const { fn, starts } = flaky(clock, [error]);
      const call = track(policy.execute(fn));
      await clock.advance(0);
      assert.equal(call.value, 'ok', `did not retry ${String(error)}`);
      assert.equal(starts.length, 2);
    }
  });

  it('retries results: a 503 Response is retried, the last result is returned when attempts run out', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, backoff: constant(5), attempts: 2 });
    const responses = [new Response('busy', { status: 503 }), new Response('still busy', { status: 503 })];
    let calls = 0;
    const call = track(policy.execute(() => responses[calls++]!));
    await clock.advance(5);
    assert.equal(calls, 2);
    assert.equal(call.value, responses[1]);
    const ok = await policy.execute(() => new Response('fine', { status: 200 }));
    assert.equal(ok.status, 200);
  });

  it('retryOn sees errors and results with the attempt number', async () => {
    const clock = new ManualClock();
    const seen: [boolean, number][] = [];
    const policy = retry({
      clock,
      budget: false,
      backoff: constant(0),
      retryOn: (outcome, attempt) => {
        seen.push([outcome.ok, attempt]);
        return outcome.ok ? outcome.value === 'again' : true;
      },
    });
    const values = ['again', 'done'];
    const call = track(policy.execute(() => values.shift()));
    await clock.advance(0);
    assert.equal(call.value, 'done');
    assert.deepEqual(seen, [
      [true, 1],
      [true, 2],
    ]);
  });

  describe('server hints', () => {
    it('a Retry-After in seconds raises the delay above the backoff', async () => {
      const clock = new ManualClock();
      const policy = retry({ clock, budget: false, backoff: constant(100) });
      const { fn, starts } = flaky(clock, [httpError(429, { 'retry-after': '3' })]);
      const call = track(policy.execute(fn));
      await clock.advance(2999);
      assert.equal(starts.length, 1);
      await clock.advance(1);
      assert.deepEqual(starts, [0, 3000]);
      assert.equal(call.value, 'ok');
    });

    it('a Retry-After HTTP-date on a returned Response is honoured (HTTP-dates have 1 s resolution)', async () => {
      const clock = new ManualClock();
      const policy = retry({ clock, budget: false, backoff: constant(0) });
      const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10_000).toUTCString();
      const responses = [new Response('', { status: 503, headers: { 'Retry-After': at } }), new Response('', { status: 200 })];
      const delays: number[] = [];
      policy.onRetry((e) => delays.push(e.delayMs));
      const call = track(policy.execute(() => responses.shift()!));
      await clock.advance(11_000);
      assert.equal((call.value as Response).status, 200);
      assert.ok(delays[0]! > 8_000 && delays[0]! <= 11_000, `delay ${delays[0]}`);
    });

    it('a RateLimitedError from an inner limiter sets the delay through retryAfterMs', async () => {
      const clock = new ManualClock();
      const policy = retry({ clock, budget: false, backoff: constant(1) });
      const { fn, starts } = flaky(clock, [new RateLimitedError('later', 750)]);
      track(policy.execute(fn));
      await clock.advance(1000);
      assert.deepEqual(starts, [0, 750]);
    });

    it('a hint above maxDelayMs fails at once with RateLimitedError, not an hour of sleep', async () => {
      const clock = new ManualClock();
      const policy = retry({ clock, budget: false, maxDelayMs: '1m' });
      const giveUps: GiveUpEvent[] = [];
      policy.onGiveUp((e) => giveUps.push(e));
      const original = httpError(429, { 'retry-after': '3600' });
      const call = track(policy.execute(flaky(clock, [original]).fn));
      await clock.advance(0);
      assert.ok(call.error instanceof RateLimitedError);
      assert.equal(call.error.retryAfterMs, 3_600_000);
      assert.equal(call.error.cause, original);
      assert.match(call.error.message, /3600000 ms.*maxDelayMs \(60000 ms\)/);
      assert.equal(giveUps[0]?.reason, 'retry-after');
      assert.equal(clock.pendingTimers, 0);
    });

    it('a hint above maxDelayMs on a returned result gives the result back at once, as it was', async () => {
      const clock = new ManualClock();
      const policy = retry({ clock, budget: false, maxDelayMs: '1m' });
      const giveUps: GiveUpEvent[] = [];
      policy.onGiveUp((e) => giveUps.push(e));
      const refused = new Response('quota', { status: 429, headers: { 'retry-after': '3600' } });
      let calls = 0;
      const call = track(policy.execute(() => (calls++, refused)));
      await clock.advance(0);
      assert.equal(call.value, refused, 'the 429 stays the Response the function returned');
      assert.equal(calls, 1);
      assert.deepEqual(giveUps, [{ type: 'give-up', policy: 'retry', attempts: 1, reason: 'retry-after', result: refused }]);
      assert.equal(clock.pendingTimers, 0);
    });

    it('property: a Retry-After of X is never undercut, whatever the backoff', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.option(fc.nat({ max: 60_000 }), { nil: undefined }), { minLength: 1, maxLength: 5 }),
          fc.nat({ max: 5000 }),
          fc.integer(),
          async (hints, base, seed) => {
            const clock = new ManualClock();
            const policy = retry({ clock, budget: false, attempts: hints.length + 1, backoff: exponential(base).fullJitter(), maxDelayMs: 60_000, random: seeded(seed) });
            const errors = hints.map((h) => (h === undefined ? new Error('no hint') : new RateLimitedError('hint', h)));
            const { fn, starts } = flaky(clock, errors);
            const call = track(policy.execute(fn));
            await runAll(clock);
            assert.equal(call.value, 'ok');
            for (const [i, h] of hints.entries()) {
              const gap = starts[i + 1]! - starts[i]!;
              assert.ok(gap >= (h ?? 0) && gap <= 60_000, `gap ${gap} undercuts hint ${h}`);
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  it('caps backoff delays at maxDelayMs', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, attempts: 4, backoff: exponential(1000, 10), maxDelayMs: 5000 });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    track(policy.execute(flaky(clock, [new Error(), new Error(), new Error()]).fn));
    await runAll(clock);
    assert.deepEqual(delays, [1000, 5000, 5000]);
  });

  it('deadlineMs: no retry starts after the deadline; the last error is thrown', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, attempts: 10, backoff: constant(400), deadlineMs: 1000 });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    const errors = Array.from({ length: 9 }, (_, i) => new Error(String(i)));
    const { fn, starts } = flaky(clock, [...errors]);
    const call = track(policy.execute(fn));
    await runAll(clock);
    assert.deepEqual(starts, [0, 400, 800]);
    assert.equal(call.error, errors[2]);
    assert.equal(giveUps[0]?.reason, 'deadline');
  });

  it('aborting during the wait rejects at once with the reason and leaves no timer or listener', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, backoff: constant(10_000) });
    const base = listeners.live(); // node:test itself holds some
    const controller = new AbortController();
    const { fn, starts } = flaky(clock, [new Error('x')]);
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(10);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(listeners.live(), base + 1);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await clock.advance(0);
    assert.equal(call.error, reason);
    assert.equal(starts.length, 1);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(listeners.live(), base);
  });

  it('an abort during an attempt is not retried even if retryOn says yes', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, retryOn: () => true, backoff: constant(0) });
    const controller = new AbortController();
    let calls = 0;
    const call = track(
      policy.execute(({ signal }) => {
        calls++;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      }, { signal: controller.signal }),
    );
    await clock.advance(0);
    controller.abort();
    await clock.advance(100);
    assert.equal(calls, 1);
    assert.equal((call.error as Error).name, 'AbortError');
  });

  it('a listener disposer stops events; unused events build nothing', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, budget: false, backoff: constant(0) });
    let seen = 0;
    const dispose = policy.onRetry(() => seen++);
    track(policy.execute(flaky(clock, [new Error()]).fn));
    await clock.advance(0);
    dispose();
    dispose();
    track(policy.execute(flaky(clock, [new Error()]).fn));
    await clock.advance(0);
    assert.equal(seen, 1);
  });

  it('rejects bad options with ConfigError', () => {
    assert.throws(() => retry({ attempts: 0 }), ConfigError);
    assert.throws(() => retry({ maxDelayMs: -1 }), ConfigError);
    assert.throws(() => retry({ deadlineMs: 'soon' }), ConfigError);
    assert.throws(() => retry({ budget: { ratio: -1 } }), ConfigError);
  });

  describe('budget', () => {
    it('under 100% failure for 60 s with 50 callers, retries stay within ratio × calls + minimum in every window', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 1, windowMs: 10_000, clock });
      const policy = retry({ clock, budget, attempts: 5, backoff: exponential(100).fullJitter().cap(2000), random: seeded(7) });
      const events: { at: number; kind: 'call' | 'retry' }[] = [];
      policy.onRetry(() => events.push({ at: clock.now(), kind: 'retry' }));
      let attempts = 0;
      const failing = async () => {
        attempts++;
        throw httpError(503);
      };
      const caller = async (): Promise<void> => {
        while (clock.now() < 60_000) {
          events.push({ at: clock.now(), kind: 'call' });
          await policy.execute(failing).catch(() => {});
          await clock.sleep(200);
        }
      };
      const callers = Array.from({ length: 50 }, caller);
      await clock.advance(61_000);
      await Promise.all(callers);
      const calls = events.filter((e) => e.kind === 'call').length;
      const retries = events.filter((e) => e.kind === 'retry');
      assert.equal(attempts, calls + retries.length);
      assert.ok(calls > 10_000, `only ${calls} calls`);
      // Without a budget this load would add up to 4 retries per call.
      assert.ok(retries.length <= 0.1 * calls + 60 + 10, `${retries.length} retries for ${calls} calls`);
      // The stated guarantee, at every retry: in the trailing window of ten 1 s buckets,
      // retries ≤ 10% of calls + 1/s × 10 s. Events are in time order, so prefix counts do it.
      const prefix = { call: [0], retry: [0] };
      for (const e of events) {
        prefix.call.push(prefix.call.at(-1)! + (e.kind === 'call' ? 1 : 0));
        prefix.retry.push(prefix.retry.at(-1)! + (e.kind === 'retry' ? 1 : 0));
      }
      let lo = 0;
      for (const [i, e] of events.entries()) {
        if (e.kind !== 'retry') continue;
        const from = (Math.floor(e.at / 1000) - 9) * 1000;
        while (events[lo]!.at < from) lo++;
        const inWindow = (kind: 'call' | 'retry') => prefix[kind][i + 1]! - prefix[kind][lo]!;
        assert.ok(inWindow('retry') <= 0.1 * inWindow('call') + 10 + 1e-9, `at ${e.at}: ${inWindow('retry')} retries, ${inWindow('call')} calls`);
      }
      assert.equal(clock.pendingTimers, 0);
    });

    it('a shared budget is spent by every policy that uses it; give-ups say why', async () => {
      const clock = new ManualClock();
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.2, windowMs: 10_000, clock });
      assert.equal(budget.available, 2);
      const a = retry({ clock, budget, backoff: constant(0), attempts: 2 });
      const b = retry({ clock, budget, backoff: constant(0), attempts: 2 });
      const reasons: string[] = [];
      b.onGiveUp((e) => reasons.push(e.reason));
      for (const p of [a, b, b]) track(p.execute(flaky(clock, [new Error()]).fn));
      await clock.advance(0);
      assert.equal(budget.available, 0);
      assert.deepEqual(reasons, ['budget']);
    });
  });
});
