import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Harvest } from '../../src/harvest/engine.js';
import { nullMonitor } from '../../src/harvest/null-monitor.js';
import { configOf, expectedNdjson, fakeApi, memoryStream, ORIGIN, record, tempDir } from './helpers.js';

async function harvestToMemory(args: string[], api = fakeApi(95)): Promise<{ text: string; api: typeof api; outcome: Awaited<ReturnType<Harvest['run']>> }> {
  const stdout = memoryStream();
  const harvest = await Harvest.open(configOf(args), { fetch: api.fetch, stdout });
  const outcome = await harvest.run(nullMonitor);
  await harvest.close();
  return { text: stdout.text(), api, outcome };
}

describe('harvest pagination', () => {
  it('offset: the first page alone, then the rest in parallel once the total is known, written in order', async () => {
    const { text, api, outcome } = await harvestToMemory([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '4']);
    assert.equal(text, expectedNdjson(95));
    assert.equal(api.requests.length, 10); // 95 records / 10: no request past the end
    assert.equal(api.requests[0], `${ORIGIN}/records?offset=0&limit=10`);
    assert.deepEqual({ records: outcome.records, pages: outcome.pages, complete: outcome.complete }, { records: 95, pages: 10, complete: true });
  });

  it('page: {page} from --first-page, total read from the body', async () => {
    const { text, api } = await harvestToMemory([`${ORIGIN}/pages?page={page}&per_page={limit}`, '--page-size', '20']);
    assert.equal(text, expectedNdjson(95));
    assert.deepEqual(api.requests.map((u) => new URL(u).searchParams.get('page')), ['1', '2', '3', '4', '5']);
  });

  it('offset without a total: one page after another until an empty page', async () => {
    const { text, api } = await harvestToMemory([`${ORIGIN}/nototal?offset={offset}&limit={limit}`, '--page-size', '30']);
    assert.equal(text, expectedNdjson(95));
    assert.equal(api.requests.length, 5); // 4 pages of records, then the empty one that ends it
  });

  it('cursor: follows --next in order until it is null', async () => {
    const { text, api } = await harvestToMemory([`${ORIGIN}/cursor?cursor={cursor}&limit={limit}`, '--next', 'next_cursor', '--items', 'data', '--page-size', '25']);
    assert.equal(text, expectedNdjson(95));
    assert.equal(api.requests.length, 4);
    assert.equal(api.requests[0], `${ORIGIN}/cursor?cursor=&limit=25`);
  });

  it('link: follows the Link header rel="next" until there is none', async () => {
    const { text, api } = await harvestToMemory([`${ORIGIN}/link?page=1&per_page=40`, '--paginate', 'link']);
    assert.equal(text, expectedNdjson(95));
    assert.equal(api.requests.length, 3);
  });

  it('--max-pages stops after that many pages', async () => {
    const { text, api } = await harvestToMemory([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--max-pages', '3']);
    assert.equal(text, expectedNdjson(30));
    assert.equal(api.requests.length, 3);
  });

  it('--max-pages counts cursor pages too', async () => {
    const { text } = await harvestToMemory([`${ORIGIN}/cursor?cursor={cursor}&limit={limit}`, '--next', 'next_cursor', '--page-size', '10', '--max-pages', '2']);
    assert.equal(text, expectedNdjson(20));
  });

  it('a next URL in the body (PokeAPI style) is followed, a missing one ends the harvest', async () => {
    const api = fakeApi(0, (url) => {
      const page = Number(url.searchParams.get('p') ?? 1);
      return { body: { items: [record(page - 1)], meta: { next: page < 3 ? `/x?p=${page + 1}` : null } } };
    });
    const { text } = await harvestToMemory([`${ORIGIN}/x?p=1`, '--paginate', 'link', '--next', 'meta.next', '--items', 'items'], api);
    assert.equal(text, expectedNdjson(3));
  });

  it('--items names where the records are; a body without them fails the page, named', async () => {
    const api = fakeApi(0, () => ({ body: { wrapper: { rows: [record(0)] } } }));
    const out = join(tempDir(), 'o.ndjson');
    const harvest = await Harvest.open(configOf([`${ORIGIN}/x?page={page}`, '--items', 'wrapper.nope', '--out', out]), { fetch: api.fetch });
    const outcome = await harvest.run(nullMonitor);
    await harvest.close();
    assert.equal(api.requests.length >= 1, true);
    assert.match(outcome.failed[0]!.reason, /no array at --items wrapper\.nope/);
    assert.match(readFileSync(`${out}.failed.ndjson`, 'utf8'), /wrapper\.nope/);
  });
});
