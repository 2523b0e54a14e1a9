import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { detectPagination } from '../../../src/harvest/source/detect-pagination.js';
import { tempDir } from '../helpers.js';

const URL_ = 'https://api.test/items';

describe('auto pagination: detected from the first page', () => {
  it('reads each usual shape', () => {
    const none = new Headers();
    assert.equal(detectPagination([], new Headers({ link: '<https://api.test/items?page=2>; rel="next"' }), URL_, 100, undefined).type, 'link');
    assert.deepEqual(detectPagination({ data: [], next_cursor: 'abc' }, none, URL_, 100, undefined), { type: 'cursor', cursorParam: 'cursor', cursorPath: ['next_cursor'], limitParam: undefined, limit: 100, maxPages: undefined });
    assert.equal(detectPagination({ count: 9, next: 'https://api.test/items?offset=20&limit=20', results: [] }, none, URL_, 100, undefined).type, 'offset');
    assert.deepEqual(detectPagination({ next: '/items?after=x', items: [] }, none, URL_, 100, undefined), { type: 'link', nextUrlPath: ['next'], limitParam: undefined, limit: 100, maxPages: undefined });
    assert.equal(detectPagination({ page: 1, per_page: 20, total_pages: 5, data: [] }, none, URL_, 100, undefined).type, 'page');
    assert.deepEqual(detectPagination({ data: [] }, none, URL_, 100, 3), { type: 'link', nextUrlPath: undefined, limitParam: undefined, limit: 100, maxPages: 3 });
  });

  it('harvests the mock\'s offset, page, cursor and Link listings whole with no pagination named', async () => {
    const mock = await startMockApi({ records: 230, tree: { repos: 45, issuesPerRepo: 0, commentsPerIssue: 0 } });
    const dir = tempDir();
    try {
      const file = join(dir, 'source.json');
      writeFileSync(file, JSON.stringify({ client: { baseUrl: mock.url }, defaults: { pagination: { limit: 50 } }, resources: { offset: '/records', pages: '/records/pages', cursor: '/records/cursor', repos: '/repos' } }));
      let err = '';
      const stderr = new Writable({ write: (c: Buffer, _e, done) => ((err += c.toString()), done()) });
      const code = await runHarvestCommand(['--config', file, '--out', join(dir, 'out'), '--quiet'], { stderr, env: {} });
      assert.equal(code, 0, err);
      const count = (name: string): number => readFileSync(join(dir, 'out', `${name}.ndjson`), 'utf8').split('\n').length - 1;
      assert.deepEqual(['offset', 'pages', 'cursor', 'repos'].map(count), [230, 230, 230, 45]);
      const state = JSON.parse(readFileSync(join(dir, 'out', 'cursor.ndjson.state.json'), 'utf8')) as { detected: { type: string } };
      assert.equal(state.detected.type, 'cursor');
    } finally {
      await mock.close();
    }
  });
});
