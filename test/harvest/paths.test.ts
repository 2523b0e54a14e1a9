import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/core/errors.js';
import { AUTO_BYTES, SendLatencyLimit } from '../../src/harvest/auto-concurrency.js';
import { formatPath, parseJsonPath, valueAt, type PathStep } from '../../src/harvest/json-path.js';
import { linkNext, readPage } from '../../src/harvest/page-reader.js';
import { UrlTemplate } from '../../src/harvest/template.js';

const step = fc.oneof(fc.stringMatching(/^[A-Za-z_][\w-]{0,8}$/), fc.string({ maxLength: 6 }).filter((s) => !s.includes("'")), fc.nat({ max: 20 }));

/** An object holding `leaf` at `path`. */
function nest(path: readonly PathStep[], leaf: unknown): unknown {
  return path.reduceRight<unknown>((inner, s) => {
    if (typeof s === 'number') {
      const array: unknown[] = new Array(s + 1).fill(null);
      array[s] = inner;
      return array;
    }
    return { [s]: inner };
  }, leaf);
}

describe('harvest paths and pages', () => {
  it('a path written out and parsed back is the same path, and finds what is there', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 5 }), (path) => {
        assert.deepEqual(parseJsonPath(formatPath(path), '--items'), path);
        assert.equal(valueAt(nest(path, 'here'), path), 'here');
      }),
    );
  });

  it('reads the forms users write', () => {
    assert.deepEqual(parseJsonPath('data.items', '--items'), ['data', 'items']);
    assert.deepEqual(parseJsonPath('$.pages[0].rows', '--items'), ['pages', 0, 'rows']);
    assert.deepEqual(parseJsonPath("meta['next.url']", '--next'), ['meta', 'next.url']);
    assert.deepEqual(parseJsonPath('$', '--items'), []);
    for (const path of [['$'], ['$', 'a'], ['$', 0]]) assert.deepEqual(parseJsonPath(formatPath(path), '--items'), path);
    for (const bad of ['a..b', '.a', 'a[', 'a[x]', 'a b']) {
      assert.throws(() => parseJsonPath(bad, '--next'), (error: unknown) => error instanceof ConfigError && error.field === '--next');
    }
  });

  it('valueAt never throws and misses are undefined', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.array(step, { maxLength: 4 }), (body, path) => void valueAt(body, path)));
    assert.equal(valueAt({ a: 1 }, ['a', 'b']), undefined);
    assert.equal(valueAt({ a: [1] }, ['a', 3]), undefined);
    assert.equal(valueAt({}, ['constructor']), undefined);
  });

  it('finds records, totals and next pointers in the usual places', () => {
    const h = new Headers({ 'x-total-count': '42' });
    const read = (body: unknown, headers: Headers, paths: Parameters<typeof readPage>[3]) => readPage(body, JSON.stringify(body), headers, paths);
    assert.deepEqual(read([1, 2], h, {}), { lines: ['1', '2'], totalRecords: 42, next: undefined });
    assert.deepEqual(read({ count: 7, results: [1] }, new Headers(), {}).totalRecords, 7);
    assert.deepEqual(read({ data: [3], meta: { total: '9' } }, new Headers(), { total: ['meta', 'total'] }).totalRecords, 9);
    assert.equal(read({ data: [], next_cursor: 'abc' }, new Headers(), { next: ['next_cursor'] }).next, 'abc');
    assert.equal(read({ data: [], next_cursor: null }, new Headers(), { next: ['next_cursor'] }).next, undefined);
    assert.throws(() => read({ rows: 'no' }, new Headers(), {}), /name it with --items/);
  });

  it('follows rel="next" in a Link header, among others, relative or absolute', () => {
    const base = 'https://api.test/items?page=2';
    assert.equal(linkNext('<https://api.test/items?page=3>; rel="next", <https://api.test/items?page=9>; rel="last"', base), 'https://api.test/items?page=3');
    assert.equal(linkNext('</items?page=1>; rel="prev first", </items?page=3>; rel=next', base), 'https://api.test/items?page=3');
    assert.equal(linkNext('<https://api.test/items?page=9>; rel="last"', base), undefined);
    assert.equal(linkNext(null, base), undefined);
  });

  it('a template fills and encodes its placeholders; unknown ones are refused by name', () => {
    const t = UrlTemplate.parse('https://api.test/x?c={cursor}&n={limit}', '<url-template>', 'shown');
    assert.equal(t.fill({ cursor: 'a+b/c==', limit: 5 }), 'https://api.test/x?c=a%2Bb%2Fc%3D%3D&n=5');
    assert.throws(() => UrlTemplate.parse('https://api.test/x?c={curser}', '<url-template>', 'shown'), /unknown placeholder \{curser\}/);
  });

  it('auto concurrency holds no more than its byte budget of big pages', () => {
    const limit = new SendLatencyLimit({ limit: 200, onSample: () => 200 });
    assert.equal(limit.limit, 200);
    limit.observeBytes(1024 * 1024); // 1 MB pages: 16 MB / (2 × 1 MB)
    assert.equal(limit.limit, AUTO_BYTES / (2 * 1024 * 1024));
    limit.observeBytes(1);
    assert.ok(limit.limit >= 8);
  });
});
