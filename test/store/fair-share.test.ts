import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decideShared, fairLevel, memberPace, memberRow, type LimitsAtNow, type MemberRow } from '../../src/store/fair-share.js';

/** Limits that answer the given waits in turn (0 = admit), recording nothing. */
function limitsSaying(...waits: number[]): LimitsAtNow {
  return { wait: () => waits.shift() ?? 0, take: () => {} };
}
const UNLIMITED = limitsSaying();

const demandArb = fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 2, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) });

describe('fairLevel (max-min fair shares, as Doorman grants them)', () => {
  it('every member asking less than the level gets its demand, every other the level, and together they use the whole capacity', () => {
    fc.assert(
      fc.property(fc.array(demandArb, { minLength: 1, maxLength: 20 }), fc.double({ min: 0.001, max: 10, noNaN: true }), (demands, capacity) => {
        const level = fairLevel(demands, capacity);
        const total = demands.reduce((a, b) => a + b, 0);
        if (total <= capacity) {
          assert.equal(level, Number.POSITIVE_INFINITY, 'demands that fit are not held back');
          return;
        }
        const shares = demands.map((d) => Math.min(d, level));
        const used = shares.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(used - capacity) <= 1e-9 * Math.max(1, capacity), `${used} of ${capacity} shared`);
        // max-min: a member that gets less than it asks gets the most anyone gets
        const most = Math.max(...shares);
        for (const [i, share] of shares.entries()) if (share < demands[i]!) assert.ok(share >= most - 1e-9, `member ${i} held at ${share} below ${most}`);
      }),
    );
  });

  it('n members asking more than the capacity share it equally; one asking little leaves the rest to the others', () => {
    assert.equal(fairLevel([Infinity, Infinity, Infinity, Infinity], 1), 0.25);
    assert.equal(fairLevel([0.1, Infinity, Infinity], 1), 0.45);
    assert.equal(fairLevel([0.1, 0.2], 1), Infinity);
  });
});

/** Rows for other members, alive until `until`, asking `demand` each. */
function others(demands: readonly number[], until: number): Map<string, MemberRow> {
  return new Map(demands.map((demand, i) => [`m${i}`, { demand, expiresAt: until, tat: Number.NEGATIVE_INFINITY, emission: 0, turn: Number.NEGATIVE_INFINITY }]));
}

describe("a member's pacer (the share it may take)", () => {
  it('a greedy member starts at most headroom × its fair level × (t + tolerance) + 1 units in any interval t, whatever its schedule', () => {
    fc.assert(
      fc.property(
        fc.array(demandArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.record({ gap: fc.double({ min: 0, max: 30, noNaN: true }), cost: fc.constantFrom(1, 1, 2, 3) }), { minLength: 1, maxLength: 80 }),
        (demands, asks) => {
          const capacity = 1;
          const headroom = 1.25;
          const toleranceMs = 20;
          const rows = others(demands, Number.POSITIVE_INFINITY);
          let row: MemberRow | undefined;
          let now = 0;
          const starts: { at: number; cost: number }[] = [];
          for (const ask of asks) {
            now += ask.gap;
            const all = new Map(rows);
            if (row !== undefined) all.set('me', row);
            const pace = memberPace(all, 'me', Number.POSITIVE_INFINITY, capacity, headroom, toleranceMs, now);
            const [wait] = decideShared(pace, UNLIMITED, [ask.cost], 1, now);
            if (wait === 0) starts.push({ at: now, cost: ask.cost });
            row = memberRow(pace, Number.POSITIVE_INFINITY, 10, now);
          }
          const level = fairLevel([...demands, Number.POSITIVE_INFINITY], capacity);
          if (level * headroom >= capacity) return; // not held back: the limit alone decides
          const emission = 1 / (level * headroom);
          for (let i = 0; i < starts.length; i++) {
            let units = 0;
            for (let j = i; j < starts.length; j++) {
              units += starts[j]!.cost;
              const t = starts[j]!.at - starts[i]!.at;
              // GCRA with tolerance τ + e (and any cost fitting an idle pacer): the units past the first start's are paid for in time
              const bound = (t + toleranceMs) / emission + starts[i]!.cost;
              assert.ok(units <= bound + 1e-9, `${units} units in ${t} ms; bound ${bound}`);
            }
          }
        },
      ),
    );
  });

  it("a dead member's share is the others' one lease period after the last time it was told to ask again", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1000, noNaN: true }), fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { maxLength: 5 }), fc.double({ min: 1, max: 50, noNaN: true }), (now, waits, keepMs) => {
        const pace = memberPace(new Map(), 'dead', Number.POSITIVE_INFINITY, 1, 1.25, 20, now);
        for (const wait of waits) if (wait > 0) pace.waitMs = Math.max(pace.waitMs, wait);
        const row = memberRow(pace, Number.POSITIVE_INFINITY, keepMs, now);
        const last = Math.max(0, ...waits);
        assert.equal(row.expiresAt, now + last + keepMs);
        // After that instant the survivors' level no longer counts it.
        const survivors = others([Infinity, Infinity, Infinity], Number.POSITIVE_INFINITY);
        const withDead = new Map(survivors).set('dead', row);
        const after = memberPace(withDead, 'm0', Number.POSITIVE_INFINITY, 1, 1.25, 20, row.expiresAt);
        const alone = memberPace(survivors, 'm0', Number.POSITIVE_INFINITY, 1, 1.25, 20, row.expiresAt);
        assert.equal(after.emission, alone.emission);
        const before = memberPace(withDead, 'm0', Number.POSITIVE_INFINITY, 1, 1.25, 20, row.expiresAt - 1e-6);
        assert.ok(before.emission > alone.emission, 'until then it is counted');
      }),
    );
  });

  it('a member the limit refused comes back at its own turn, not at the instant the next unit frees; one behind its share at once', () => {
    const rows = others([Infinity, Infinity, Infinity], Number.POSITIVE_INFINITY);
    const pace = memberPace(rows, 'me', Number.POSITIVE_INFINITY, 1, 1.25, 20, 0);
    // its turn is 4 ms away after one start at level 1/4 per ms
    assert.deepEqual(decideShared(pace, UNLIMITED, [1], 1, 0), [0]);
    assert.deepEqual(decideShared(pace, limitsSaying(0.5), [1], 1, 1), [3]);
    // at its turn the limit's own wait is all it waits
    assert.deepEqual(decideShared(pace, limitsSaying(0.5), [1], 1, 4), [0.5]);
  });
});
