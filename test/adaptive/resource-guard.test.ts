import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { flow, ResourceGuard, type ResourceReadings } from '../../src/flow/index.js';
import { collect, drive, range } from '../flow/helpers.js';

function scripted(): { read: () => ResourceReadings; set: (r: Partial<ResourceReadings>) => void } {
  let current: ResourceReadings = { eventLoopDelayMs: 0, heapUsedBytes: 100, rssBytes: 100 };
  return { read: () => current, set: (r) => (current = { ...current, ...r }) };
}

describe('ResourceGuard', () => {
  it('pauses above a threshold and resumes only below resumeRatio × threshold', async () => {
    const clock = new ManualClock();
    const readings = scripted();
    const guard = new ResourceGuard({ maxHeapUsedBytes: 1000, maxEventLoopDelayMs: 50, interval: 100, read: readings.read, clock });
    const detach = guard.attach();
    assert.equal(guard.paused, false);
    readings.set({ heapUsedBytes: 1200 });
    await clock.advance(100);
    assert.equal(guard.paused, true);
    assert.deepEqual(guard.stats().reasons, ['heapUsed']);
    readings.set({ heapUsedBytes: 950 }); // below the threshold but above 0.9 × it
    await clock.advance(100);
    assert.equal(guard.paused, true, 'hysteresis: no flapping at the edge');
    let resumed = false;
    guard.onResume(() => (resumed = true));
    readings.set({ heapUsedBytes: 800 });
    await clock.advance(100);
    assert.equal(guard.paused, false);
    assert.equal(resumed, true);
    const stats = guard.stats();
    assert.equal(stats.pauses, 1);
    assert.equal(stats.pausedMs, 200);
    detach();
    assert.equal(clock.pendingTimers, 0, 'the last detach stops the timer');
  });

  it('a flow stops starting items while the guard is paused and continues when it resumes', async () => {
    const clock = new ManualClock();
    const readings = scripted();
    const guard = new ResourceGuard({ maxRssBytes: 1000, interval: 50, read: readings.read, clock });
    const startedAt: number[] = [];
    const results = flow(range(20), async (i: number) => {
      startedAt.push(clock.now());
      if (i === 4) readings.set({ rssBytes: 5000 }); // memory spikes while item 4 runs
      await clock.sleep(10);
      return i;
    }, { concurrency: 1, guard, clock });
    const run = collect(results);
    // Resume at t = 500: free the memory then.
    clock.timer(() => readings.set({ rssBytes: 100 }), 500);
    const out = await drive(clock, run);
    assert.equal(out.length, 20);
    const gap = startedAt.findIndex((t, i) => i > 0 && t - startedAt[i - 1]! > 100);
    assert.ok(gap > 4, 'items started normally until the spike');
    assert.ok(startedAt[gap]! >= 500, `admission resumed only after the guard did (t=${startedAt[gap]})`);
    assert.equal(guard.stats().pauses, 1);
    assert.equal(clock.pendingTimers, 0, 'the guard stopped reading once the flow ended');
  });

  it('reads the real process by default: heap, RSS and event-loop delay', () => {
    const clock = new ManualClock(); // no timer fires: the test reads once, by hand
    const guard = new ResourceGuard({ maxRssBytes: Number.MAX_SAFE_INTEGER, clock });
    const detach = guard.attach();
    guard.check();
    const last = guard.stats().last!;
    assert.ok(last.heapUsedBytes > 0 && last.rssBytes >= last.heapUsedBytes);
    assert.ok(last.eventLoopDelayMs >= 0);
    assert.equal(guard.paused, false);
    detach();
    assert.equal(clock.pendingTimers, 0);
  });

  it('needs at least one threshold', () => {
    assert.throws(() => new ResourceGuard({}), ConfigError);
  });
});
