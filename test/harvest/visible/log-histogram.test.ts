import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LogHistogram } from '../../../src/harvest/visible/log-histogram.js';

/** The exact nearest-rank quantile, what the histogram approximates. */
function exact(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const GROWTH = 1.25;
const sample = fc.double({ min: 1, max: 1e6, noNaN: true }); // inside the 1 ms … ~21 min range of 64 bins

describe('LogHistogram (property)', () => {
  it('any quantile of samples inside the range is within half a bin (sqrt(growth)) of the exact one', () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 200 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (samples, q) => {
        const h = new LogHistogram(1, GROWTH, 64);
        for (const s of samples) h.record(s);
        const got = h.quantile(q)!;
        const want = exact(samples, q);
        const ratio = got / want;
        assert.ok(ratio <= Math.sqrt(GROWTH) * (1 + 1e-9) && ratio >= 1 / Math.sqrt(GROWTH) / (1 + 1e-9), `q ${q}: ${got} vs ${want}`);
      }),
      { numRuns: 500 },
    );
  });

  it('merging two histograms answers as if every sample had been recorded in one', () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 100 }), fc.array(sample, { maxLength: 100 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (a, b, q) => {
        const left = new LogHistogram(1, GROWTH, 64);
        const right = new LogHistogram(1, GROWTH, 64);
        const both = new LogHistogram(1, GROWTH, 64);
        for (const s of a) { left.record(s); both.record(s); }
        for (const s of b) { right.record(s); both.record(s); }
        left.add(right);
        assert.equal(left.quantile(q), both.quantile(q));
      }),
      { numRuns: 300 },
    );
  });

  it('ignores values that are not latencies (negative, NaN, infinite)', () => {
    const h = new LogHistogram(1, GROWTH, 64);
    for (const v of [-1, Number.NaN, Number.POSITIVE_INFINITY]) h.record(v);
    assert.equal(h.quantile(0.5), undefined);
  });
});
