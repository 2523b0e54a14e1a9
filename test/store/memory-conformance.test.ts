import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, toLimitSpecs } from '../../src/index.js';
import { TABLES } from './conformance-tables.js';

describe('conformance: MemoryStore', () => {
  for (const table of TABLES) {
    it(table.name, () => {
      const store = new MemoryStore();
      table.steps.forEach((step, i) => {
        const wait = store.reserve('k', table.limits, step.cost ?? 1, step.at);
        const label = `step ${i} (at ${step.at}, cost ${step.cost ?? 1})`;
        if (step.wait === Number.POSITIVE_INFINITY) assert.equal(wait, Number.POSITIVE_INFINITY, label);
        else assert.ok(Math.abs(wait - step.wait) < 1e-6, `${label}: expected ${step.wait}, got ${wait}`);
      });
    });
  }

  it('startLagMs counts each sliding-window start that much longer, at most a thousandth of the interval', () => {
    const store = new MemoryStore({ startLagMs: 1 });
    const window = toLimitSpecs({ rate: '2/1s', algorithm: 'sliding-window', burst: 2 }, {});
    assert.equal(store.reserve('k', window, 1, 0), 0);
    assert.equal(store.reserve('k', window, 1, 0), 0);
    assert.equal(store.reserve('k', window, 1, 1000), 1); // counted until 1001, not 1000
    assert.equal(store.reserve('k', window, 1, 1001), 0);
    const short = toLimitSpecs({ rate: '1/100ms', algorithm: 'sliding-window' }, {});
    assert.equal(store.reserve('s', short, 1, 0), 0);
    assert.ok(Math.abs(store.reserve('s', short, 1, 100) - 0.1) < 1e-9); // lag capped at 0.1 ms
    assert.throws(() => new MemoryStore({ startLagMs: -1 }), /startLagMs/);
  });

  it('keeps keys apart and forgets a key once all its limits are idle', () => {
    const store = new MemoryStore();
    const [table] = TABLES;
    for (let i = 0; i < 10; i++) assert.equal(store.reserve(`user-${i}`, table!.limits, 1, 0), 0);
    assert.equal(store.size, 10);
    // Sweeps run every 4096 operations; drive them on one key long after the others went idle.
    for (let i = 0; i < 5000; i++) store.reserve('busy', table!.limits, 1, 10_000 + i * 250);
    assert.equal(store.size, 1);
  });
});

describe('MemoryStore.stateFor (RateStore.stateFor)', () => {
  const limits = toLimitSpecs({ rate: '2/1s', algorithm: 'gcra', burst: 2 }, {});

  it("answers as the store does for the key, sharing the key's state with it", () => {
    const store = new MemoryStore();
    const held = store.stateFor('k', limits, 0);
    assert.equal(held.reserve(limits, 1, 0), 0);
    assert.equal(store.reserve('k', limits, 1, 0), 0);
    assert.ok(held.reserve(limits, 1, 0) > 0, 'the two starts taken, one through each, fill the burst of 2');
    held.refund(limits, 1, 0);
    assert.equal(store.reserve('k', limits, 1, 0), 0, 'a refund through the handle frees a start in the store');
    held.charge(limits, 1, 0);
    assert.ok(store.reserve('k', limits, 1, 0) > 0);
  });

  it('keeps the key for good: an idle held key is never swept', () => {
    const store = new MemoryStore();
    const held = store.stateFor('held', limits, 0);
    assert.equal(store.reserve('quiet', limits, 1, 0), 0);
    for (let i = 0; i < 5000; i++) store.reserve('busy', limits, 1, 10_000 + i * 500); // past a sweep
    assert.equal(store.size, 2, "'quiet' was forgotten, 'held' was not");
    assert.equal(held.reserve(limits, 2, 20_000_000), 0);
    assert.ok(store.reserve('held', limits, 1, 20_000_000) > 0, 'the store still answers from the held state');
  });
});
