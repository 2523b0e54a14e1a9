import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatCount, formatCountdown, formatDuration, formatMs, formatPercent, formatRate } from '../../../src/harvest/visible/format.js';

// The figures every visible output shares; a change here changes the progress line,
// the summary and the report at once, so the examples in the doc comments are pinned.
describe('formats', () => {
  it('counts group thousands whatever the machine’s locale', () => {
    assert.equal(formatCount(1_234_567), '1,234,567');
  });

  it('rates: two decimals below 1/s, one up to 100/s, whole above', () => {
    assert.deepEqual([0.25, 9.52, 19.75, 20, 1_250.4, Number.NaN].map(formatRate), ['0.25', '9.5', '19.8', '20', '1,250', '–']);
  });

  it('durations and countdowns', () => {
    assert.deepEqual([850, 42_000, 252_000, 3_780_000, -1].map(formatDuration), ['850ms', '42s', '4m12s', '1h03m', '–']);
    assert.deepEqual([0, 1, 41_001, 42_000].map(formatCountdown), ['0s', '1s', '42s', '42s']);
  });

  it('latencies, bytes and percentages', () => {
    assert.deepEqual([undefined, 4.23, 120.4, 1_434, 12_500, 90_000].map(formatMs), ['–', '4.2ms', '120ms', '1.43s', '12.5s', '1m30s']);
    assert.deepEqual([512, 1536, 120 * 1024 * 1024].map(formatBytes), ['512 B', '1.5 KB', '120 MB']);
    assert.deepEqual([0.987, 0.051, 1].map(formatPercent), ['99%', '5.1%', '100%']);
  });
});
