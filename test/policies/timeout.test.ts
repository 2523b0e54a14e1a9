import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { TimeoutError } from '../../src/core/errors.js';
import { compose, fallback, retry, timeout, type PolicyContext } from '../../src/policies/index.js';
import { track, trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();

describe('timeout', () => {
  it('rejects with TimeoutError at exactly `ms`, aborting the attempt with it as the reason', async () => {
    const clock = new ManualClock();
    const policy = timeout('250ms', { clock });
    let seen: AbortSignal | undefined;
    const fired: number[] = [];
    policy.onTimeout(() => fired.push(clock.now()));
    const call = track(
      policy.execute(({ signal }) => {
        seen = signal;
        return new Promise(() => {});
      }),
    );
    await clock.advance(249);
    assert.equal(call.settled, false);
    await clock.advance(1);
    assert.ok(call.error instanceof TimeoutError);
    assert.equal(call.error.timeoutMs, 250);
    assert.equal(seen?.aborted, true);
    assert.equal(seen?.reason, call.error);
    assert.deepEqual(fired, [250]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('calls that settle in time share one timer, released when the event loop turns; no listener is left', async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { clock });
    const base = listeners.live();
    const controller = new AbortController();
    const value = await policy.execute(({ attempt }) => `attempt ${attempt}`, { signal: controller.signal, attempt: 3 });
    assert.equal(value, 'attempt 3');
    await assert.rejects(policy.execute(() => Promise.reject(new Error('x')), { signal: controller.signal }), /x/);
    await assert.rejects(
      policy.execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(clock.pendingTimers, 1, 'one timer for all three calls, kept for back-to-back calls');
    await clock.advance(0); // a macrotask turn with no call in flight releases it
    assert.equal(clock.pendingTimers, 0);
    assert.equal(listeners.live(), base);
  });

  it("the caller's abort reaches the work and rejects with the caller's reason", async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { clock });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = track(
      policy.execute(({ signal }) => {
        inner = signal;
        return new Promise(() => {});
      }, { signal: controller.signal }),
    );
    const reason = new Error('stop');
    controller.abort(reason);
    await clock.advance(0);
    assert.equal(call.error, reason);
    assert.equal(inner?.reason, reason);
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(policy.execute(() => 1, { signal: controller.signal }), (e) => e === reason);
  });

  it('a signal read only after the timeout is already aborted with the TimeoutError (signals are made lazily)', async () => {
    const clock = new ManualClock();
    const policy = compose(retry({ clock, attempts: 1 }), timeout(10, { clock }));
    let context: PolicyContext | undefined;
    const call = track(
      policy.execute((ctx) => {
        context = ctx;
        return new Promise(() => {});
      }),
    );
    await clock.advance(10);
    assert.ok(call.error instanceof TimeoutError);
    assert.equal(context?.signal.aborted, true);
    assert.equal(context?.signal.reason, call.error);
  });

  it('deadlines of overlapping calls fire each at its own instant through one timer', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const ends: number[] = [];
    const hang = () => new Promise<never>(() => {});
    const calls = [0, 30, 60].map((at) => clock.sleep(at).then(() => policy.execute(hang).catch(() => ends.push(clock.now()))));
    const finishing = track(policy.execute(() => clock.sleep(50).then(() => 'done')));
    await clock.advance(500);
    await Promise.all(calls);
    assert.equal(finishing.value, 'done');
    assert.deepEqual(ends, [100, 130, 160]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a long call ahead of thousands of short ones still times out on time (the queue compacts behind it)', async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { clock });
    const slow = track(policy.execute(() => new Promise<never>(() => {})));
    for (let i = 0; i < 3000; i++) {
      await clock.advance(0.1);
      assert.equal(await policy.execute(() => i), i);
    }
    const late = track(policy.execute(() => new Promise<never>(() => {})));
    await clock.advance(1000 - clock.now());
    assert.ok(slow.error instanceof TimeoutError);
    assert.equal(late.settled, false);
    await clock.advance(300);
    assert.ok(late.error instanceof TimeoutError);
    assert.equal(clock.pendingTimers, 0);
  });

  it('work settling after the timeout is dropped without an unhandled rejection', async () => {
    const clock = new ManualClock();
    const policy = timeout(10, { clock });
    const call = track(policy.execute(() => clock.sleep(20).then(() => Promise.reject(new Error('late')))));
    await clock.advance(30);
    assert.ok(call.error instanceof TimeoutError);
  });
});

describe('fallback', () => {
  it('replaces an error with a value, or with what a function of the error returns', async () => {
    assert.equal(await fallback('cached').execute(() => Promise.reject(new Error('x'))), 'cached');
    assert.equal(await fallback((e: unknown) => `after ${(e as Error).message}`).execute(() => Promise.reject(new Error('x'))), 'after x');
    assert.equal(await fallback('cached').execute(() => 'fresh'), 'fresh');
  });

  it("never replaces the caller's abort, and `when` filters errors", async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(fallback('x').execute(({ signal }) => Promise.reject(signal.reason), { signal: controller.signal }), /cancelled/);
    const onlyTimeouts = fallback('late', { when: (e) => e instanceof TimeoutError });
    await assert.rejects(onlyTimeouts.execute(() => Promise.reject(new Error('other'))), /other/);
    assert.equal(await onlyTimeouts.execute(() => Promise.reject(new TimeoutError('t', 1))), 'late');
  });
});
