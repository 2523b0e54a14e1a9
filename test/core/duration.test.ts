import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseDuration, parseRate } from '../../src/index.js';

describe('parseDuration', () => {
  const cases: [string | number, number][] = [
    [250, 250],
    ['250ms', 250],
    ['1s', 1000],
    ['1.5s', 1500],
    ['s', 1000],
    ['1m', 60_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    [' 10 s ', 10_000],
  ];
  for (const [input, ms] of cases) {
    it(`${JSON.stringify(input)} is ${ms} ms`, () => assert.equal(parseDuration(input, 'timeout'), ms));
  }

  for (const bad of ['', 'soon', '10 parsecs', '-1s', '1e3ms', -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`rejects ${String(bad)} naming the field and the value`, () => {
      assert.throws(
        () => parseDuration(bad, 'retry.maxDelay'),
        (e: unknown) => e instanceof ConfigError && e.field === 'retry.maxDelay' && e.message.includes('retry.maxDelay'),
      );
    });
  }
});

describe('parseRate', () => {
  const cases: [string, number, number][] = [
    ['100/1m', 100, 60_000],
    ['10/s', 10, 1000],
    ['5000/h', 5000, 3_600_000],
    ['10000/1d', 10_000, 86_400_000],
    ['2.5/100ms', 2.5, 100],
  ];
  for (const [input, limit, intervalMs] of cases) {
    it(`${input} is ${limit} per ${intervalMs} ms`, () => assert.deepEqual(parseRate(input, 'limits'), { limit, intervalMs }));
  }

  it('accepts { limit, interval }', () => assert.deepEqual(parseRate({ limit: 3, interval: '1s' }, 'limits'), { limit: 3, intervalMs: 1000 }));

  for (const bad of ['100', '100/', '/1m', '0/1m', '-1/1m', '100/0s', '100/fortnight', 'ten/s']) {
    it(`rejects ${JSON.stringify(bad)} naming the field`, () => {
      assert.throws(
        () => parseRate(bad, 'limits[1]'),
        (e: unknown) => e instanceof ConfigError && e.field.startsWith('limits[1]') && e.message.includes(JSON.stringify(bad)),
      );
    });
  }
});
