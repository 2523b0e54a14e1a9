import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getEventListeners } from 'node:events';
import { execFileSync } from 'node:child_process';
import { ManualClock, preciseClock } from '../../src/index.js';
import { backgroundTimer } from '../../src/core/clock.js';

describe('ManualClock', () => {
  it('fires timers in time order, ties in the order they were set, each at its own instant', async () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.timer(() => fired.push(`b@${clock.now()}`), 20);
    clock.timer(() => fired.push(`a@${clock.now()}`), 10);
    clock.timer(() => fired.push(`c@${clock.now()}`), 20);
    await clock.advance(15);
    assert.deepEqual(fired, ['a@110']);
    assert.equal(clock.now(), 115);
    await clock.advance(100);
    assert.deepEqual(fired, ['a@110', 'b@120', 'c@120']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('fires a timer set by another timer within the same advance', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.timer(() => {
      fired.push(clock.now());
      clock.timer(() => fired.push(clock.now()), 5);
    }, 5);
    await clock.advance(10);
    assert.deepEqual(fired, [5, 10]);
  });

  it('runs promise continuations between timers', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    void clock.sleep(10).then(() => {
      seen.push(clock.now());
      return clock.sleep(10).then(() => seen.push(clock.now()));
    });
    await clock.advance(25);
    assert.deepEqual(seen, [10, 20]);
  });

  it('sleep rejects on abort with the signal reason and leaves no timer or listener', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('sleep removes its abort listener when it completes', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(5, controller.signal);
    await clock.advance(5);
    await sleeping;
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('sleep with an already aborted signal rejects at once', async () => {
    const clock = new ManualClock();
    await assert.rejects(clock.sleep(5, AbortSignal.abort()), { name: 'AbortError' });
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('preciseClock', () => {
  it('never fires before its time, never synchronously, and not at all once cancelled', async () => {
    const fired: string[] = [];
    const cancelled = preciseClock.timer(() => fired.push('cancelled'), 0.5);
    cancelled.cancel();
    for (const ms of [0, 0.3, 1.7, 3]) {
      const start = preciseClock.now();
      let sync = true;
      let waited = -1;
      let calledSync = false;
      await new Promise<void>((resolve) => {
        preciseClock.timer(() => {
          calledSync = sync;
          waited = preciseClock.now() - start;
          resolve();
        }, ms);
        sync = false;
      });
      assert.equal(calledSync, false, 'called synchronously');
      assert.ok(waited >= ms, `fired after ${waited} ms, set for ${ms}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
    assert.deepEqual(fired, []);
  });
});

describe('backgroundTimer', () => {
  it('on the real-time clocks, and on a copy of one, never keeps the process alive', () => {
    const script = `
      import { backgroundTimer, systemClock, preciseClock } from './src/core/clock.ts';
      for (const clock of [systemClock, preciseClock, { ...systemClock, now: () => performance.now() }]) {
        backgroundTimer(clock, () => { console.log('kept alive'); }, 2000);
      }`;
    // A timer that kept the process alive would fire and print before it exits.
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out, '');
  });

  it('on a clock without one (virtual time) is an ordinary timer', async () => {
    const clock = new ManualClock();
    let fired = 0;
    backgroundTimer(clock, () => fired++, 10);
    await clock.advance(9);
    assert.equal(fired, 0);
    await clock.advance(1);
    assert.equal(fired, 1);
  });
});
