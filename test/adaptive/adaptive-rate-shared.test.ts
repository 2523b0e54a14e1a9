import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AdaptiveRate, type AdaptiveRateOptions, type SharingChange } from '../../src/adaptive/adaptive-rate.js';
import type { RateSignal } from '../../src/algorithms/rate-adaptation.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { MemorySharedAdaptation, type AdaptationProposal, type SharedAdaptation, type SharedView } from '../../src/store/shared-adaptation.js';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';

const ok = (now: number, extra: Partial<RateSignal> = {}): RateSignal => ({ sentAt: now - 1, now, throttled: false, ...extra });
const throttle = (sentAt: number, now: number, extra: Partial<RateSignal> = {}): RateSignal => ({ sentAt, now, throttled: true, ...extra });
const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

/** `n` fleet members: each its own limiter (in a real fleet they would share a RedisStore), one shared state. */
function fleet(n: number, clock: ManualClock, shared: SharedAdaptation | false = new MemorySharedAdaptation(), options: AdaptiveRateOptions = {}): AdaptiveRate[] {
  return Array.from({ length: n }, () => new AdaptiveRate(new RateLimiter({ limits: '200/1s', clock }), { clock, shared, ...options }));
}

const syncAll = (members: AdaptiveRate[]): Promise<void[]> => Promise.all(members.map((m) => m.sync()));

/** A shared state that can be cut off, as Redis can. */
class Switchable implements SharedAdaptation {
  up = true;
  proposals: AdaptationProposal[] = [];
  constructor(private readonly inner: SharedAdaptation = new MemorySharedAdaptation()) {}
  propose(proposal: AdaptationProposal, now: number): Promise<SharedView | undefined> {
    this.proposals.push(proposal);
    return this.up ? this.inner.propose(proposal, now) : Promise.resolve(undefined);
  }
}

describe('AdaptiveRate shared by a fleet (SharedAdaptation)', () => {
  it("one member's throttle cuts every member's rate once, from the fleet's successes of the last second", async () => {
    const clock = new ManualClock();
    const members = fleet(3, clock);
    // 51 successes over the last second, 17 seen by each member; reported with the next exchange.
    for (let i = 0; i < 51; i++) members[i % 3]!.observe(ok(500 + i * 5));
    await clock.advance(1000);
    await syncAll(members);
    members[1]!.observe(throttle(999, 1000));
    await syncAll(members);
    await clock.advance(100);
    for (const m of members) m.observe(ok(clock.now()));
    await syncAll(members);
    // wMax = 51 (the fleet's successes, not one member's 17), cut to 0.8 × 51 = 40.8; 100 ms
    // later every member is on the CUBIC curve from there.
    const k = Math.cbrt((51 * 0.2) / 0.4);
    const expected = 0.4 * (0.1 - k) ** 3 + 51;
    for (const m of members) {
      near(m.step.rate, expected, 'rate');
      assert.equal(m.stats().cuts, 1);
      assert.equal(m.stats().sharing, 'shared');
      // Through setLimits, on the fleet's grid: at most half a percent below.
      const limit = m.limiter.limits[0]!.limit;
      assert.ok(limit <= expected && limit >= expected / 1.005, `pacing limit ${limit} for ${expected}`);
      assert.equal(limit, members[0]!.limiter.limits[0]!.limit);
    }
    // Alone, the member that was throttled would have cut from its own 17 successes.
    const [alone] = fleet(1, clock, false);
    for (let i = 0; i < 17; i++) alone!.observe(ok(3000 + i * 15));
    near(alone!.observe(throttle(3999, 4000)).rate, 0.8 * 17, 'a lone member cuts from its own share');
  });

  it('property: a throttle that N members see at once cuts the fleet once, in any order and timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.record({ member: fc.nat(), gap: fc.integer({ min: 0, max: 400 }), success: fc.boolean() }), { minLength: 2, maxLength: 30 }),
        fc.boolean(),
        async (n, events, awaitEach) => {
          const clock = new ManualClock(10_000);
          const members = fleet(n, clock);
          // The server's window is full at t0: every request sent up to t0 is refused when it
          // arrives (or succeeds, having been counted before), whoever sent it.
          const t0 = clock.now();
          await clock.advance(1);
          for (const e of events) {
            await clock.advance(e.gap);
            const m = members[e.member % n]!;
            const sentAt = t0 - (e.gap % 50);
            m.observe(e.success ? { sentAt, now: clock.now(), throttled: false } : throttle(sentAt, clock.now()));
            if (awaitEach) await m.sync();
          }
          await syncAll(members);
          // One more exchange each, so every member has read the final state.
          await syncAll(members);
          const cuts = events.some((e) => !e.success) ? 1 : 0;
          return members.every((m) => m.stats().cuts === cuts && m.step.rate === members[0]!.step.rate);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: after any feedback and one quiet exchange each, every member has one rate, pause and pacing limit', async () => {
    const signal = fc.record({
      member: fc.nat(),
      dt: fc.integer({ min: 0, max: 3000 }),
      lag: fc.integer({ min: 0, max: 2000 }),
      throttled: fc.boolean(),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      remaining: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      resetMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 5 }), fc.array(signal, { maxLength: 40 }), async (n, signals) => {
        const clock = new ManualClock();
        const members = fleet(n, clock);
        for (const s of signals) {
          await clock.advance(s.dt);
          const { member, dt: _dt, lag, ...rest } = s;
          members[member % n]!.observe({ ...dropUndefined(rest), throttled: s.throttled, now: clock.now(), sentAt: clock.now() - lag });
        }
        await syncAll(members);
        await syncAll(members);
        // A pause that has ended is no pause, whatever instant it ended at.
        const steps = members.map((m) => ({ rate: m.step.rate, pauseUntil: Math.max(m.step.pauseUntil, clock.now()) }));
        const limits = members.map((m) => m.limiter.limits[0]!);
        const sameLimit = limits.every((l) => l.limit === limits[0]!.limit && l.intervalMs === limits[0]!.intervalMs);
        return sameLimit && steps.every((s) => s.rate === steps[0]!.rate && s.pauseUntil === steps[0]!.pauseUntil && s.rate >= 0.5 && s.rate <= 200);
      }),
      { numRuns: 150 },
    );
  });

  it('a throttle of a request sent before its member heard of the last one is old news: no second cut, no strike', async () => {
    const clock = new ManualClock();
    const [a, b] = fleet(2, clock, new MemorySharedAdaptation(), { backoffMs: 100 });
    await Promise.all([a!.admit(), b!.admit()]);
    await clock.advance(20);
    a!.observe(throttle(15, 20));
    await a!.sync();
    // b sends at 30, after a's throttle arrived but before b heard of it; refused at 35.
    await clock.advance(15);
    b!.observe(throttle(30, 35));
    await b!.sync();
    assert.equal(b!.stats().cuts, 1);
    assert.ok(b!.step.pauseUntil <= clock.now(), 'no backoff pause: it was not a throttle in a row');
    // Once b knows, a refusal of a later request is a throttle in a row: a pause, still no cut.
    await clock.advance(15);
    b!.observe(throttle(42, 50));
    await b!.sync();
    assert.equal(b!.stats().cuts, 1);
    assert.equal(b!.step.pauseUntil, 150);
  });

  it('members that last read the shared state at different moments of a climb still pace at one limit', async () => {
    const clock = new ManualClock();
    const [a, b] = fleet(2, clock, new MemorySharedAdaptation(), { syncMs: 1000 });
    await Promise.all([a!.admit(), b!.admit()]);
    a!.observe(throttle(0, 0));
    await a!.sync();
    await clock.advance(500);
    await b!.sync(); // b reads the state 500 ms after a did
    await clock.advance(100);
    await Promise.all([a!.admit(), b!.admit()]);
    const [la, lb] = [a!.limiter.limits[0]!.limit, b!.limiter.limits[0]!.limit];
    assert.equal(la, lb);
    assert.ok(la > 160, `on the curve 600 ms after the cut, not at the cut's 160: ${la}`);
  });

  it('while callers wait in the limiter, the fleet state is still exchanged every syncMs, and no timer is left after', async () => {
    const clock = new ManualClock();
    const shared = new Switchable();
    const m = new AdaptiveRate(new RateLimiter({ limits: '1/10s', clock }), { clock, shared, syncMs: 100 });
    await m.admit();
    const before = shared.proposals.length;
    const waiting = m.admit(); // the next turn is 10 s away
    await clock.advance(350);
    assert.ok(shared.proposals.length - before >= 3, `${shared.proposals.length - before} exchanges in 350 ms`);
    await clock.advance(10_000);
    await waiting;
    assert.equal(clock.pendingTimers, 0);
  });

  it("a Retry-After one member got holds the others from their next exchange (within syncMs)", async () => {
    const clock = new ManualClock();
    const [a, b] = fleet(2, clock, new MemorySharedAdaptation(), { syncMs: 100 });
    await Promise.all([a!.admit(), b!.admit()]);
    a!.observe(throttle(0, 0, { retryAfterMs: 2000 }));
    await clock.advance(100);
    // b's exchange is due: the answer arrives while b takes its turn, and b waits the pause out.
    let admittedAt = -1;
    const admitted = b!.admit().then(() => (admittedAt = clock.now()));
    await clock.advance(1899);
    assert.equal(admittedAt, -1, 'b waits out the pause a got');
    await clock.advance(1);
    await admitted;
    assert.ok(admittedAt >= 2000);
  });

  it('successes are sent with the next exchange, at most every syncMs, not one exchange per response', async () => {
    const clock = new ManualClock();
    const shared = new Switchable();
    const [m] = fleet(1, clock, shared, { syncMs: 100 });
    await m!.admit();
    for (let i = 0; i < 100; i++) {
      m!.observe(ok(clock.now()));
      await clock.advance(10);
    }
    await m!.sync();
    // One first exchange, then one per 100 ms of 1 s.
    assert.ok(shared.proposals.length <= 12, `${shared.proposals.length} exchanges`);
    assert.equal(
      shared.proposals.reduce((sum, p) => sum + p.successes, 0),
      100,
    );
  });

  it('a stated limit is sent once, not with every response that repeats it', async () => {
    const clock = new ManualClock();
    const shared = new Switchable();
    const [m] = fleet(1, clock, shared, { syncMs: 1000 });
    await m!.admit();
    for (let i = 0; i < 20; i++) {
      m!.observe(ok(clock.now(), { limit: 50, windowMs: 1000, remaining: 30 }));
      await m!.sync();
      await clock.advance(5);
    }
    assert.equal(shared.proposals.filter((p) => p.stated !== undefined).length, 1);
    assert.equal(m!.step.rate, 48);
  });

  it('when the shared state is unreachable it adapts alone and says so; when it is back the fleet state wins', async () => {
    const clock = new ManualClock();
    const shared = new Switchable();
    const [a, b] = fleet(2, clock, shared);
    const changes: SharingChange[] = [];
    b!.onSharingChange((c) => changes.push(c));
    await Promise.all([a!.admit(), b!.admit()]);
    shared.up = false;
    b!.observe(throttle(0, 1));
    await b!.sync();
    assert.deepEqual(changes, [{ sharing: 'local' }]);
    assert.equal(b!.stats().sharing, 'local');
    assert.equal(b!.step.rate, 160, 'b cut on its own');
    assert.equal(a!.step.rate, 200, 'a heard nothing');
    await clock.advance(100);
    await b!.admit(); // requests go on
    shared.up = true;
    await clock.advance(100);
    await b!.admit();
    await b!.sync();
    assert.deepEqual(changes, [{ sharing: 'local' }, { sharing: 'shared' }]);
    assert.equal(b!.step.rate, 200, "the fleet's state (no cut) wins");
  });

  it('a propose that throws or rejects counts as unreachable, never as a failed request', async () => {
    const clock = new ManualClock();
    const broken: SharedAdaptation = {
      propose: () => {
        throw new Error('bug');
      },
    };
    const [m] = fleet(1, clock, broken);
    const changes: SharingChange[] = [];
    m!.onSharingChange((c) => changes.push(c));
    await m!.admit();
    assert.equal(m!.stats().sharing, 'local');
    assert.match(String((changes[0]!.error as Error).message), /bug/);
  });

  it('is picked up from the limiter store by itself; `shared: false` opts out; a MemoryStore shares nothing', async () => {
    const clock = new ManualClock();
    const shared = new Switchable();
    const keys: string[] = [];
    const store = Object.assign(new MemoryStore(), {
      sharedAdaptation: (key: string) => {
        keys.push(key);
        return shared;
      },
    });
    const limiter = new RateLimiter({ limits: '10/1s', clock, store, key: 'api' });
    const auto = new AdaptiveRate(limiter, { clock });
    await auto.admit();
    assert.deepEqual(keys, ['api']);
    assert.equal(auto.stats().sharing, 'shared');
    assert.equal(shared.proposals.length, 1);
    assert.equal(new AdaptiveRate(limiter, { clock, shared: false }).stats().sharing, 'none');
    assert.equal(new AdaptiveRate(new RateLimiter({ limits: '10/1s', clock }), { clock }).stats().sharing, 'none');
    assert.throws(() => new AdaptiveRate(limiter, { clock, shared: {} as SharedAdaptation }), (e: unknown) => e instanceof ConfigError && e.field === 'shared');
  });

  it('the first admit waits for the fleet state, and an abort ends that wait', async () => {
    const clock = new ManualClock();
    const never: SharedAdaptation = { propose: () => new Promise(() => {}) };
    const [m] = fleet(1, clock, never);
    const controller = new AbortController();
    const admitted = m!.admit(controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(admitted, /stop/);
  });
});

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
