import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { hedge, type HedgeEvent } from '../../src/policies/index.js';
import { deferredCalls, track, trackAbortListeners } from './helpers.js';

const listeners = trackAbortListeners();

describe('hedge', () => {
  it('starts a second attempt after delayMs, takes the first success and aborts the other', async () => {
    const clock = new ManualClock();
    const policy = hedge({ delayMs: 100, clock });
    const events: HedgeEvent[] = [];
    policy.onHedge((e) => events.push(e));
    const { fn, calls } = deferredCalls<string>();
    const base = listeners.live();
    const controller = new AbortController();
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(99);
    assert.equal(calls.length, 1);
    await clock.advance(1);
    assert.equal(calls.length, 2);
    assert.deepEqual(events, [{ type: 'hedge', policy: 'hedge', hedge: 1, trigger: 'delay' }]);
    calls[1]!.resolve('second');
    await clock.advance(0);
    assert.equal(call.value, 'second');
    assert.equal(calls[0]!.signal.aborted, true, 'the loser is told to stop');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(listeners.live(), base);
  });

  it('a fast first attempt means no hedge at all', async () => {
    const clock = new ManualClock();
    const policy = hedge({ delayMs: 100, clock });
    let calls = 0;
    assert.equal(await policy.execute(() => ++calls), 1);
    await clock.advance(1000);
    assert.equal(calls, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a failure starts the next hedge at once; all failing rejects with the last error', async () => {
    const clock = new ManualClock();
    const policy = hedge({ delayMs: 1000, maxHedges: 2, clock });
    const { fn, calls } = deferredCalls<string>();
    const call = track(policy.execute(fn));
    await clock.advance(0);
    calls[0]!.reject(new Error('first'));
    await clock.advance(0);
    assert.equal(calls.length, 2);
    await clock.advance(1000);
    assert.equal(calls.length, 3);
    calls[2]!.reject(new Error('third'));
    await clock.advance(0);
    assert.equal(call.settled, false, 'the second is still running');
    calls[1]!.reject(new Error('second'));
    await clock.advance(0);
    assert.equal((call.error as Error).message, 'second');
    assert.equal(clock.pendingTimers, 0);
  });

  it("the caller's abort aborts every attempt and rejects with its reason", async () => {
    const clock = new ManualClock();
    const policy = hedge({ delayMs: 10, clock });
    const { fn, calls } = deferredCalls<string>();
    const base = listeners.live();
    const controller = new AbortController();
    const call = track(policy.execute(fn, { signal: controller.signal }));
    await clock.advance(10);
    controller.abort(new Error('enough'));
    await clock.advance(0);
    assert.equal((call.error as Error).message, 'enough');
    assert.ok(calls.every((c) => c.signal.aborted));
    assert.equal(clock.pendingTimers, 0);
    assert.equal(listeners.live(), base);
  });

  it('percentile: no hedging until 20 latencies are known, then hedges at that quantile', async () => {
    const clock = new ManualClock();
    const policy = hedge({ percentile: 0.9, clock });
    assert.equal(policy.currentDelayMs, Number.POSITIVE_INFINITY);
    for (let i = 1; i <= 20; i++) {
      const call = track(policy.execute(() => clock.sleep(i * 10).then(() => i)));
      await clock.advance(i * 10);
      assert.equal(call.value, i);
    }
    assert.equal(policy.currentDelayMs, 190);
  });

  it('rejects bad options with ConfigError', () => {
    assert.throws(() => hedge({}), ConfigError);
    assert.throws(() => hedge({ percentile: 1.5 }), ConfigError);
    assert.throws(() => hedge({ delayMs: 10, maxHedges: -1 }), ConfigError);
  });
});
