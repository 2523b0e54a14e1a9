import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/index.js';
import { LeaseBook, leaseParts, leasePolicy } from '../../src/store/lease-book.js';

const POLICY = { periodMs: 10, demandMs: 5, maxShare: 0.05 };

describe('leaseParts', () => {
  it('asked one after another, each on its own, the parts take exactly min(units, what is free)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (units, free) => {
        let left = free;
        let taken = 0;
        for (const part of leaseParts(units)) {
          if (part <= left) {
            left -= part;
            taken += part;
          }
        }
        assert.equal(taken, Math.min(units, free));
      }),
    );
  });

  it('is a handful of parts, largest first', () => {
    assert.deepEqual(leaseParts(37), [19, 9, 5, 2, 1, 1]);
    assert.deepEqual(leaseParts(0), []);
    assert.ok(leaseParts(1_000_000).length <= 21);
  });
});

describe('leasePolicy', () => {
  it('is off unless asked for, takes the defaults for true, and names a bad field', () => {
    assert.equal(leasePolicy(undefined), undefined);
    assert.equal(leasePolicy(false), undefined);
    assert.deepEqual(leasePolicy(true), POLICY);
    assert.deepEqual(leasePolicy({ periodMs: 20 }), { ...POLICY, periodMs: 20 });
    const names = (field: string) => (error: unknown) => error instanceof ConfigError && error.field === field;
    assert.throws(() => leasePolicy(1), names('lease'));
    assert.throws(() => leasePolicy({ periodMs: Number.POSITIVE_INFINITY }), names('lease.periodMs'));
    assert.throws(() => leasePolicy({ demandMs: Number.NaN }), names('lease.demandMs'));
    assert.throws(() => leasePolicy({ maxShare: 0 }), names('lease.maxShare'));
  });
});

type BookOp = { kind: 'grant'; units: number; lifeMs: number } | { kind: 'take'; cost: number } | { kind: 'advance'; ms: number } | { kind: 'expire' };

describe('LeaseBook', () => {
  it('never spends a permit after its lease ends, nor more than was granted, and gives back exactly what is left', () => {
    const opArb: fc.Arbitrary<BookOp> = fc.oneof(
      fc.record({ kind: fc.constant('grant' as const), units: fc.integer({ min: 1, max: 20 }), lifeMs: fc.constantFrom(0.5, 5, 10) }),
      fc.record({ kind: fc.constant('take' as const), cost: fc.constantFrom(1, 1, 2, 3) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.double({ min: 0, max: 8, noNaN: true }) }),
      fc.constant({ kind: 'expire' as const }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 100 }), (ops) => {
        const book = new LeaseBook(POLICY, 100);
        /** Per grant: units granted, spent, given back, and when it ends. */
        const grants = new Map<number, { units: number; spent: number; back: number; spendBy: number }>();
        let now = 0;
        let at = 0;
        for (const op of ops) {
          if (op.kind === 'grant') {
            at += 1; // each grant its own decision time, its identity here
            grants.set(at, { units: op.units, spent: 0, back: 0, spendBy: now + op.lifeMs });
            book.grant(op.units, at, now + op.lifeMs);
          } else if (op.kind === 'take') {
            const from = book.take(op.cost, now);
            if (Number.isNaN(from)) continue;
            const grant = grants.get(from)!;
            assert.ok(now < grant.spendBy, `spent at ${now} from a lease that ended at ${grant.spendBy}`);
            grant.spent += op.cost;
          } else if (op.kind === 'advance') {
            now += op.ms;
          } else {
            for (const back of book.expired(now)) grants.get(back.at)!.back += back.units;
          }
        }
        for (const back of book.drain()) grants.get(back.at)!.back += back.units;
        for (const grant of grants.values()) assert.equal(grant.spent + grant.back, grant.units, 'every unit granted is spent or given back, once');
      }),
    );
  });

  it('sizes a lease from the member’s own rate over a round trip plus demandMs, less what it holds, capped', () => {
    const book = new LeaseBook(POLICY, 30);
    assert.equal(book.extra(1, 0, 1), 0, 'no lease until demand is measured');
    for (let i = 0; i < 10; i++) book.spentElsewhere(1);
    // 10 units in 5 ms: 2/ms over 1 + 5 ms is 12, less the 1 asked now
    assert.equal(book.extra(1, 5, 1), 11);
    book.pending = true; // the store marks the lease asked for
    assert.equal(book.extra(0, 5, 1), 0, 'no other while that lease is pending');
    book.pending = false;
    book.grant(11, 5, 15);
    for (let i = 0; i < 11; i++) assert.equal(book.take(1, 5 + i * 0.1), 5);
    // 11 in 1.1 ms (10/ms), smoothed with the 2/ms before: 6/ms over 6 ms, capped at 30
    assert.equal(book.extra(0, 6.1, 1), 30);
  });

  it('follows a change in the member’s demand, halving the gap each lease: within 10 % in three leases up, 20 % in four down', () => {
    const book = new LeaseBook({ periodMs: 100, demandMs: 9, maxShare: 1 }, 1_000_000);
    let now = 0;
    book.extra(0, now, 1);
    /** One lease period of `perMs` units spent per ms over 10 ms; answers the next lease's size. */
    const period = (perMs: number): number => {
      for (let i = 0; i < 10 * perMs; i++) book.spentElsewhere(1);
      now += 10;
      return book.extra(0, now, 1);
    };
    for (let i = 0; i < 5; i++) period(10);
    assert.equal(period(10), 100, '10/ms over 1 + 9 ms');
    const up = [period(40), period(40), period(40)];
    assert.ok(up[2]! >= 0.9 * 400, `demand ×4: leases ${up.join(', ')}`);
    const down = [period(10), period(10), period(10), period(10)];
    assert.ok(down[3]! <= 1.2 * 100, `demand ÷4: leases ${down.join(', ')}`);
  });

  it('asks for a lease ahead of need only while the limit does not bind: not after a lease got less than asked or a caller was refused', () => {
    const book = new LeaseBook(POLICY, 1000);
    book.extra(0, 0, 1);
    for (let i = 0; i < 10; i++) book.spentElsewhere(1);
    assert.ok(book.extra(0, 5, 1) > 0); // 2/ms measured
    book.grant(2, 5, 15);
    assert.equal(book.wantsRefill(5, 1), true, 'holds 2, a round trip of 2/ms: ask now');
    book.binding = true; // the store saw the limit bind at its last answer
    assert.equal(book.wantsRefill(5, 1), false, 'binding: leases only ride along with callers');
    book.binding = false; // a later lease was granted whole
    assert.equal(book.wantsRefill(5, 1), true);
  });

  it('a slow member asks for little: a lease covers its demand, not the cap', () => {
    const book = new LeaseBook(POLICY, 1000);
    book.extra(0, 0, 1);
    book.spentElsewhere(1);
    // 1 unit per 100 ms: a round trip plus 5 ms of it is under one unit
    assert.equal(book.extra(1, 100, 1), 0);
  });
});
