import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { ConfigError, constant, hedge, ManualClock, retry, timeout } from '../../src/index.js';

/** What `sluice:resilience` carries while `body` runs. */
async function published(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onMessage = (message: unknown): void => void seen.push(message);
  subscribe('sluice:resilience', onMessage);
  try {
    await body();
  } finally {
    unsubscribe('sluice:resilience', onMessage);
  }
  return seen;
}

describe('retry, timeout and hedge: named, and published on sluice:resilience', () => {
  it('a retry and its give-up carry the policy name', async () => {
    const clock = new ManualClock();
    const policy = retry({ name: 'payments', attempts: 2, clock, budget: false, backoff: constant(10), retryOn: () => true });
    const boom = new Error('boom');
    const seen = await published(async () => {
      const run = policy.execute(() => Promise.reject(boom)).catch((error: unknown) => error);
      await clock.advance(100);
      assert.equal(await run, boom);
    });
    assert.deepEqual(
      seen,
      [
        { type: 'retry', policy: 'payments', attempt: 1, delayMs: 10, error: boom },
        { type: 'give-up', policy: 'payments', attempts: 2, reason: 'attempts', error: boom },
      ],
    );
  });

  it('a timeout carries the policy name and its limit', async () => {
    const clock = new ManualClock();
    const policy = timeout(50, { name: 'search', clock });
    const seen = await published(async () => {
      const run = policy.execute(() => new Promise(() => {})).catch(() => 'timed out');
      await clock.advance(50);
      assert.equal(await run, 'timed out');
    });
    assert.deepEqual(seen, [{ type: 'timeout', policy: 'search', timeoutMs: 50 }]);
  });

  it('a hedge carries the policy name', async () => {
    const clock = new ManualClock();
    const policy = hedge({ name: 'reads', delayMs: 10, clock });
    const seen = await published(async () => {
      let calls = 0;
      const run = policy.execute(() => (++calls === 1 ? new Promise(() => {}) : Promise.resolve('second')));
      await clock.advance(10);
      assert.equal(await run, 'second');
    });
    assert.deepEqual(seen, [{ type: 'hedge', policy: 'reads', hedge: 1, trigger: 'delay' }]);
  });

  it('nothing is published while no one subscribes, and the defaults name the kind', () => {
    assert.equal(retry().name, 'retry');
    assert.equal(timeout(10).name, 'timeout');
    assert.equal(hedge({ delayMs: 5 }).name, 'hedge');
  });

  it('a name that cannot label a metric is refused, naming the field', () => {
    for (const make of [() => retry({ name: 'a b' }), () => timeout(10, { name: '' }), () => hedge({ delayMs: 5, name: 'x'.repeat(101) })]) {
      assert.throws(make, (error: unknown) => error instanceof ConfigError && /name/.test(error.message));
    }
  });
});
