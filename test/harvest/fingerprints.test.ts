import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fingerprintOf, FingerprintWindow } from '../../src/harvest/fingerprints.js';
import { rawAt, rawElements } from '../../src/harvest/raw-json.js';

describe('FingerprintWindow', () => {
  it('is the set of the last `capacity` distinct fingerprints added, whatever the order of adds and lookups', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 })), { maxLength: 400 }), (capacity, ops) => {
        const window = new FingerprintWindow(capacity);
        const model: number[] = []; // oldest first, distinct
        for (const [add, value] of ops) {
          if (add) {
            window.add(value);
            if (!model.includes(value)) {
              model.push(value);
              if (model.length > capacity) model.shift();
            }
          } else {
            assert.equal(window.has(value), model.includes(value), `has(${value})`);
          }
          assert.equal(window.size, model.length);
        }
        for (let v = 1; v <= 40; v++) assert.equal(window.has(v), model.includes(v));
      }),
      { numRuns: 500 },
    );
  });

  it('is that set too where it grows as it fills (capacities past its first table), and forgets the oldest once full', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((capacity) => fc.tuple(fc.constant(capacity), fc.array(fc.integer({ min: 1, max: 2 * capacity + 5 }), { maxLength: 1500 }))),
        ([capacity, adds]) => {
          const window = new FingerprintWindow(capacity);
          const model: number[] = [];
          for (const value of adds) {
            window.add(value);
            if (!model.includes(value)) {
              model.push(value);
              if (model.length > capacity) model.shift();
            }
          }
          assert.equal(window.size, model.length);
          for (let v = 1; v <= 2 * capacity + 5; v++) assert.equal(window.has(v), model.includes(v), `has(${v})`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds large fingerprints apart (the table mixes both halves of 53 bits)', () => {
    const window = new FingerprintWindow(4);
    const a = 2 ** 52 + 1;
    const b = 2 ** 52 + 2 ** 33 + 1;
    window.add(a);
    assert.equal(window.has(a), true);
    assert.equal(window.has(b), false);
  });

  it('fingerprintOf is never 0 (the table\'s empty slot) and tells near strings apart', () => {
    fc.assert(fc.property(fc.string(), (s) => fingerprintOf(s) !== 0 && Number.isSafeInteger(fingerprintOf(s))));
    assert.notEqual(fingerprintOf('{"id":1}'), fingerprintOf('{"id":2}'));
  });
});

describe('raw JSON', () => {
  it('rawElements gives each element of the array at a path as compact text that parses to the element, whatever the spacing', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 6 }), fc.constantFrom(0, 1, 2, '\t'), fc.constantFrom('root', 'key', 'nested'), (items, indent, where) => {
        const body = where === 'root' ? items : where === 'key' ? { before: { x: [1, '"]'] }, results: items, after: 'a' } : { data: [{ rows: items }] };
        const text = JSON.stringify(body, null, indent);
        const path = where === 'root' ? [] : where === 'key' ? ['results'] : ['data', 0, 'rows'];
        const lines = rawElements(text, path)!;
        assert.deepEqual(lines.map((line) => JSON.parse(line) as unknown), JSON.parse(JSON.stringify(items)));
        for (const line of lines) assert.doesNotMatch(line, /\n/);
        assert.deepEqual(lines, items.map((item) => JSON.stringify(item)));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps numbers and escapes as written, and takes the last of duplicate keys as JSON.parse does', () => {
    assert.deepEqual(rawElements('[1.0, 12345678901234567891 ,-0,"\\u00e9"]', []), ['1.0', '12345678901234567891', '-0', '"\\u00e9"']);
    assert.deepEqual(rawElements('{"r":[1],"r":[2, 3]}', ['r']), ['2', '3']);
    assert.equal(rawAt('{"n": {"next" : 98765432109876543210}}', ['n', 'next']), '98765432109876543210');
    assert.equal(rawAt('{"a\\u0062":[ 1 ]}', ['ab']), '[1]');
    assert.equal(rawElements('{"r":{}}', ['r']), undefined);
    assert.equal(rawAt('{"r":1}', ['s']), undefined);
  });
});
