import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordAt, type MockRecord } from '../../src/http/mock/index.js';
import { getJson, nextLink, withMock } from './mock-helpers.js';

const TOTAL = 237; // not a multiple of any page size used, so the last page is partial

/** Each id 1..TOTAL exactly once, in order, equal to the data set's record. */
function assertWholeSet(records: MockRecord[], seed = 1): void {
  assert.equal(records.length, TOTAL);
  records.forEach((r, i) => assert.deepEqual(r, recordAt(seed, i + 1)));
}

describe('mock API: pagination walks the whole data set exactly once', () => {
  it('offset/limit, following next until null (PokeAPI shape)', async () => {
    await withMock({ records: TOTAL }, async (mock) => {
      const seen: MockRecord[] = [];
      let url: string | null = `${mock.url}/records?offset=0&limit=20`;
      let pages = 0;
      while (url) {
        const { status, body } = await getJson(url);
        assert.equal(status, 200);
        const page = body as { count: number; next: string | null; previous: string | null; results: MockRecord[] };
        assert.equal(page.count, TOTAL);
        assert.equal(page.previous === null, pages === 0);
        seen.push(...page.results);
        url = page.next;
        pages++;
      }
      assert.equal(pages, Math.ceil(TOTAL / 20));
      assertWholeSet(seen);
    });
  });

  it('page/per_page until total_pages; a page past the end is empty', async () => {
    await withMock({ records: TOTAL }, async (mock) => {
      const seen: MockRecord[] = [];
      let totalPages = Infinity;
      for (let page = 1; page <= totalPages; page++) {
        const { body } = await getJson(`${mock.url}/records/pages?page=${page}&per_page=50`);
        const b = body as { page: number; per_page: number; total: number; total_pages: number; data: MockRecord[] };
        assert.equal(b.page, page);
        totalPages = b.total_pages;
        seen.push(...b.data);
      }
      assertWholeSet(seen);
      const past = await getJson(`${mock.url}/records/pages?page=${totalPages + 1}&per_page=50`);
      assert.deepEqual((past.body as { data: unknown[] }).data, []);
    });
  });

  it('opaque cursor until next_cursor is null; forged cursors are refused', async () => {
    await withMock({ records: TOTAL }, async (mock) => {
      const seen: MockRecord[] = [];
      let cursor: string | null = '';
      do {
        const { body } = await getJson(`${mock.url}/records/cursor?limit=33&cursor=${encodeURIComponent(cursor)}`);
        const b = body as { data: MockRecord[]; next_cursor: string | null };
        seen.push(...b.data);
        cursor = b.next_cursor;
      } while (cursor);
      assertWholeSet(seen);
      for (const bad of ['nope', Buffer.from('{"o":5,"s":99}').toString('base64url')]) {
        assert.equal((await getJson(`${mock.url}/records/cursor?cursor=${bad}`)).status, 400);
      }
    });
  });

  it('Link header rel="next" with a bare array body and X-Total-Count', async () => {
    await withMock({ records: TOTAL }, async (mock) => {
      const seen: MockRecord[] = [];
      let url: string | undefined = `${mock.url}/records/link?per_page=25`;
      while (url) {
        const { headers, body } = await getJson(url);
        assert.equal(headers.get('x-total-count'), String(TOTAL));
        seen.push(...(body as MockRecord[]));
        url = nextLink(headers.get('link'));
      }
      assertWholeSet(seen);
      const middle = await getJson(`${mock.url}/records/link?page=3&per_page=25`);
      assert.match(middle.headers.get('link')!, /rel="prev"/);
      assert.match(middle.headers.get('link')!, /page=10&per_page=25>; rel="last"/);
    });
  });

  it('records are deterministic per seed, and differ between seeds', async () => {
    await withMock({ records: 5, seed: 7 }, async (mock) => {
      const { body } = await getJson(`${mock.url}/records/3`);
      assert.deepEqual(body, recordAt(7, 3));
      assert.notDeepEqual(recordAt(7, 3), recordAt(8, 3));
      const r = body as MockRecord;
      assert.deepEqual(Object.keys(r), ['id', 'name', 'email', 'created_at', 'country', 'plan', 'score', 'active']);
      assert.ok(Date.parse(recordAt(7, 4).created_at) > Date.parse(r.created_at));
      assert.equal((await getJson(`${mock.url}/records/6`)).status, 404);
    });
  });

  it('bad parameters answer 400 naming the parameter; unknown routes 404', async () => {
    await withMock({ records: 10, maxPageSize: 100 }, async (mock) => {
      const bad = await getJson(`${mock.url}/records?limit=500`);
      assert.equal(bad.status, 400);
      assert.match((bad.body as { error: string }).error, /limit must be between 1 and 100/);
      assert.equal((await getJson(`${mock.url}/records?offset=-1`)).status, 400);
      assert.equal((await getJson(`${mock.url}/records/pages?page=0`)).status, 400);
      assert.equal((await getJson(`${mock.url}/nothing`)).status, 404);
      assert.equal(mock.stats().endpoints.other, 1);
    });
  });

  it('listens on 127.0.0.1 only', async () => {
    await withMock({}, async (mock) => assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+$/));
  });
});
