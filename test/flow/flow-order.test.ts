import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { flow } from '../../src/flow/index.js';
import { collect, drive, range } from './helpers.js';

describe('flow ordering', () => {
  it('ordered: yields in source order whatever the latencies, with the reorder buffer bounded by `window` (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        async (latencies, concurrency, window) => {
          const clock = new ManualClock();
          let maxSpan = 0;
          const results = flow(
            latencies,
            async (ms: number, { index }) => {
              // Items from the last one handed to the consumer up to this one: the reorder span.
              maxSpan = Math.max(maxSpan, index + 1 - results.stats().yielded);
              await clock.sleep(ms);
              return index;
            },
            { concurrency, ordered: true, window, clock },
          );
          const seen: number[] = [];
          await drive(
            clock,
            (async () => {
              for await (const r of results) seen.push(r.index);
            })(),
          );
          assert.deepEqual(seen, range(latencies.length));
          assert.ok(maxSpan <= window, `an item started ${maxSpan} past the last yielded one, window ${window}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('completion order: a slow item does not hold back the ones after it', async () => {
    const clock = new ManualClock();
    const latency = [1000, 10, 20, 30];
    const results = flow(latency, async (ms: number) => {
      await clock.sleep(ms);
      return ms;
    }, { concurrency: 4, clock });
    const out = await drive(clock, collect(results));
    assert.deepEqual(
      out.map((r) => r.index),
      [1, 2, 3, 0],
    );
  });

  it('results carry input, index, attempts and the value or the error', async () => {
    const out = await collect(
      flow(['a', 'b'], (s: string) => {
        if (s === 'b') throw new Error('bad b');
        return s.toUpperCase();
      }, { ordered: true }),
    );
    assert.deepEqual(out[0], { ok: true, value: 'A', input: 'a', index: 0, attempts: 1 });
    assert.equal(out[1]!.ok, false);
    assert.equal(out[1]!.input, 'b');
    assert.match(String((out[1] as { error: unknown }).error), /bad b/);
  });
});
