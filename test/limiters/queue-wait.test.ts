// onQueueWait: each caller that waited in a limiter's queue, told as (result, waitMs) when
// it leaves — what sluice/otel aggregates its time in queue from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter, ManualClock, RateLimiter } from '../../src/index.js';

describe('onQueueWait', () => {
  it('tells a ConcurrencyLimiter caller that waited its wait, and nothing of one started at once', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, clock });
    const seen: string[] = [];
    const stop = limiter.onQueueWait((result, waitMs) => seen.push(`${result}:${waitMs}`));
    const first = await limiter.acquire();
    const second = limiter.acquire();
    const controller = new AbortController();
    const third = limiter.acquire({ signal: controller.signal });
    await clock.advance(40);
    controller.abort();
    await assert.rejects(third);
    await clock.advance(10);
    first.release();
    (await second).release();
    assert.deepEqual(seen, ['aborted:40', 'admitted:50']);
    stop();
    stop(); // a disposer called twice does nothing
  });

  it('tells a RateLimiter caller refused while it waited (new limits it can never meet) as rejected, with its wait', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '2/1s', clock });
    const seen: string[] = [];
    limiter.onQueueWait((result, waitMs) => seen.push(`${result}:${waitMs}`));
    await limiter.acquire(2);
    const big = limiter.acquire(2);
    const small = limiter.acquire();
    await clock.advance(300);
    limiter.setLimits('1/1s');
    await assert.rejects(big, { name: 'ConfigError' });
    await clock.advance(2000);
    await small;
    assert.deepEqual(seen, ['rejected:300', 'admitted:1000']);
  });

  it('does not report callers that came in before anyone listened (their wait is unknown), and stops with its disposer', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, clock });
    const first = await limiter.acquire();
    const before = limiter.acquire();
    const seen: number[] = [];
    const stop = limiter.onQueueWait((_result, waitMs) => seen.push(waitMs));
    const after = limiter.acquire();
    await clock.advance(5);
    first.release();
    (await before).release();
    (await after).release();
    assert.deepEqual(seen, [5]);
    stop();
    const held = await limiter.acquire();
    const late = limiter.acquire();
    held.release();
    (await late).release();
    assert.deepEqual(seen, [5]);
  });

  it('a sink that throws changes nothing for the callers: its error is rethrown from a fresh microtask', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, clock });
    const rethrown: (() => void)[] = [];
    const queueMicrotask = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (callback) => void rethrown.push(callback);
    try {
      limiter.onQueueWait(() => {
        throw new Error('sink broke');
      });
      const first = await limiter.acquire();
      const second = limiter.acquire();
      first.release();
      (await second).release();
    } finally {
      globalThis.queueMicrotask = queueMicrotask;
    }
    assert.equal(limiter.stats().started, 2);
    assert.equal(rethrown.length, 1);
    assert.throws(rethrown[0]!, { message: 'sink broke' });
  });
});
