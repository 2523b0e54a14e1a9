// FirstAnswer: which limiters make a sluiceFetch's first request go alone. Where every limit
// already counts a start-up's lateness in its arrival jitter (100 ms: per-minute limits by
// default), nothing waits behind the first call — an LLM's first answer takes seconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, MemoryStore, RateLimiter } from '../../src/index.js';
import { FirstAnswer } from '../../src/adaptive/first-answer.js';

describe('FirstAnswer.for', () => {
  const clock = new ManualClock();

  it('a limit whose jitter is under 100 ms: the first request goes alone', () => {
    assert.ok(FirstAnswer.for(new RateLimiter({ limits: '50/1s', arrivalJitter: '20ms', clock })));
    assert.ok(FirstAnswer.for(new RateLimiter({ limits: ['50/1s', '1000/1m'], arrivalJitter: '20ms', clock })));
  });

  it('every limit counting 100 ms or more (a per-minute RPM by default): nobody waits', () => {
    assert.equal(FirstAnswer.for(new RateLimiter({ limits: '500/1m', arrivalJitter: '100ms', clock })), undefined);
    assert.equal(FirstAnswer.for(new RateLimiter({ limits: ['500/1m', '10000/1d'], arrivalJitter: '150ms', clock })), undefined);
  });

  it('no limiter, or a store that cannot charge: nothing to move', () => {
    assert.equal(FirstAnswer.for(undefined), undefined);
    const store = new MemoryStore();
    const noCharge = Object.assign(Object.create(store) as MemoryStore, { charge: undefined });
    assert.equal(FirstAnswer.for(new RateLimiter({ limits: '50/1s', arrivalJitter: '20ms', clock, store: noCharge })), undefined);
  });

  it('one per limiter: every fetch on a limiter shares its first answer, so only the limiter\'s first request goes alone', async () => {
    const limiter = new RateLimiter({ limits: '50/1s', arrivalJitter: '20ms', clock });
    const a = FirstAnswer.for(limiter)!;
    const b = FirstAnswer.for(limiter)!;
    assert.equal(a, b);
    assert.notEqual(FirstAnswer.for(new RateLimiter({ limits: '50/1s', arrivalJitter: '20ms', clock })), a, 'another limiter has its own');
    await limiter.acquire();
    assert.equal(await a.enter(undefined), true, 'the first caller goes first');
    let secondWent: boolean | undefined;
    const second = b.enter(undefined).then((went) => (secondWent = went));
    await Promise.resolve();
    assert.equal(secondWent, undefined, 'a caller of another fetch on the same limiter waits for that answer');
    await a.heard();
    a.leave();
    await second;
    assert.equal(secondWent, false, 'and then goes without waiting again');
    assert.equal(b.waiting, false);
  });
});
