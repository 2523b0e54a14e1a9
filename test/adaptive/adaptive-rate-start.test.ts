// AdaptiveRate as the recipe for any client uses it (admit before each request, observe each
// answer): the first request goes alone and is counted from its answer, and a `remaining: 0`
// that our own paced requests explain is not a reason to pause.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveRate, ManualClock, MemoryStore, RateLimiter } from '../../src/index.js';

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('AdaptiveRate: the first answer', () => {
  it('the first caller goes alone; the others go when its answer comes, and its start counts from the answer', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const moves: string[] = [];
    // The store, with its refunds and charges logged at the clock's time.
    const logged = Object.assign(Object.create(store) as MemoryStore, {
      refund: (...args: Parameters<MemoryStore['refund']>) => (moves.push(`refund@${clock.now()}`), store.refund(...args)),
      charge: (...args: Parameters<MemoryStore['charge']>) => (moves.push(`charge@${clock.now()}`), store.charge(...args)),
    });
    const limiter = new RateLimiter({ limits: '100/1s', clock, store: logged });
    const adaptive = new AdaptiveRate(limiter, { clock, firstAnswer: true });
    await adaptive.admit();
    const second = adaptive.admit();
    await clock.advance(300);
    assert.equal(await settled(second), false, 'waits for the first answer');
    adaptive.observe({ sentAt: 0, now: 300, throttled: false });
    assert.equal(await settled(second), true, 'goes once the first was answered');
    assert.deepEqual(moves, ['refund@300', 'charge@300'], 'the first start was taken back and counted at its answer');
  });

  it('a first request never answered holds the others at most 1 s, then nobody waits for it', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '100/1s', clock });
    const adaptive = new AdaptiveRate(limiter, { clock, firstAnswer: true });
    await adaptive.admit();
    const second = adaptive.admit();
    await clock.advance(999);
    assert.equal(await settled(second), false);
    await clock.advance(1);
    assert.equal(await settled(second), true);
    assert.equal(await settled(adaptive.admit()), true, 'the rest go at once');
  });

  it('is off on virtual time unless asked, and never on for a limiter whose every limit counts a start-up (per minute)', async () => {
    const clock = new ManualClock();
    const plain = new AdaptiveRate(new RateLimiter({ limits: '100/1s', clock }), { clock });
    await plain.admit();
    assert.equal(await settled(plain.admit()), true);
  });
});

describe("AdaptiveRate: a server's remaining 0", () => {
  /** Ten requests answered 100 ms apart against 10/1s; the last answer says `remaining`, reset in 1 s. */
  function answers(sends: number): { adaptive: AdaptiveRate; now: number; pauseUntil: number } {
    const clock = new ManualClock();
    const adaptive = new AdaptiveRate(new RateLimiter({ limits: '10/1s', clock }), { clock });
    let now = 0;
    let pauseUntil = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < sends; i++, now += 100) {
      const last = i === sends - 1;
      const step = adaptive.observe({ sentAt: now, now: now + 5, throttled: false, limit: 10, ...(last ? { remaining: 0, resetMs: 1000 } : { remaining: 9 - i }) });
      pauseUntil = step.pauseUntil;
    }
    return { adaptive, now, pauseUntil };
  }

  it('filled by our own paced requests: no pause — the next slot frees as our oldest leaves', () => {
    const { pauseUntil, now } = answers(10);
    assert.ok(pauseUntil < now, `paused until ${pauseUntil}`);
  });

  it('with fewer of ours than the limit in the window, others use the quota: pause until its reset', () => {
    const { pauseUntil, now } = answers(4);
    assert.ok(pauseUntil >= now - 100 + 5 + 1000 - 1, `paused until ${pauseUntil}`);
  });
});
