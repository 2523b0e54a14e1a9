import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/index.js';
import { TABLES } from './tables.js';

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
