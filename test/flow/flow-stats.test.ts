import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { flow } from '../../src/flow/index.js';
import { collect, drive, range } from './helpers.js';

describe('flow stats and events', () => {
  it('counts what happened and reports latency percentiles and rate from the clock', async () => {
    const clock = new ManualClock();
    const results = flow(range(10), async (i: number) => {
      await clock.sleep(100 * (i + 1));
      if (i === 9) throw new Error('last one fails');
      return i;
    }, { concurrency: 2, clock });
    const events: string[] = [];
    const dispose = results.on('started', (e) => events.push(`start ${e.index}`));
    results.on('failed', (r) => events.push(`fail ${r.index}`));
    assert.equal(results.stats().state, 'idle');
    await drive(clock, collect(results));
    const stats = results.stats();
    assert.equal(stats.state, 'done');
    assert.equal(stats.pulled, 10);
    assert.equal(stats.started, 10);
    assert.equal(stats.succeeded, 9);
    assert.equal(stats.failed, 1);
    assert.equal(stats.yielded, 10);
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.concurrency, 2);
    assert.equal(stats.latencyMs.count, 10);
    assert.equal(stats.latencyMs.max, 1000);
    assert.ok(Math.abs(stats.latencyMs.p50 - 500) <= 25, `p50 ${stats.latencyMs.p50} within 5% of 500`);
    assert.equal(events.filter((e) => e.startsWith('start')).length, 10);
    assert.deepEqual(events.filter((e) => e.startsWith('fail')), ['fail 9']);
    dispose();
    dispose(); // idempotent
  });

  it('a flow can be iterated only once', () => {
    const results = flow([1], (n: number) => n);
    results[Symbol.asyncIterator]();
    assert.throws(() => results[Symbol.asyncIterator](), TypeError);
  });

  it("concurrency 'auto' without a rate follows latency (Gradient2) and reports its limit", async () => {
    const clock = new ManualClock();
    const results = flow(range(200), async () => {
      await clock.sleep(10);
    }, { concurrency: 'auto', clock });
    await drive(clock, collect(results));
    assert.ok(results.stats().concurrency >= 16, 'steady latency: the limit does not shrink');
  });
});
