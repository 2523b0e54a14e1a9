// A server that leads back to where it was — a cursor cycle, a page naming itself, a page
// parameter it ignores — stops the harvest with exit 3 and a line saying so, and nothing is
// written twice, however often the same command is run again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { harvest, hostile, recs, upTo, type Handler } from './hostile.js';

/** A cursor API over named pages: `pages[c]` gives its records and the next cursor. */
function cursorPages(pages: Record<string, { from: number; next: string | null }>, size = 3): Handler {
  return (url) => {
    const page = pages[url.searchParams.get('c') || 'A']!;
    return { json: { data: recs(page.from, page.from + size), next: page.next } };
  };
}

describe('hostile: loops', () => {
  it('a cursor cycle A → B → A: stops at the repeat, each record once, exit 3 with the loop named', async () => {
    const api = await hostile(cursorPages({ A: { from: 0, next: 'B' }, B: { from: 3, next: 'A' } }));
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(6));
    assert.match(run.incomplete[0]!, /loop: the 3 records of this page were all written already.*Nothing was written twice/);
    assert.ok(api.requests.length <= 4);
  });

  it('a longer cycle A → B → C → D → B is caught at its first repeat', async () => {
    const api = await hostile(cursorPages({ A: { from: 0, next: 'B' }, B: { from: 3, next: 'C' }, C: { from: 6, next: 'D' }, D: { from: 9, next: 'B' } }));
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(12));
    assert.equal(api.requests.length, 4, 'B is not fetched a second time: its URL was');
  });

  it('run again after a loop: the same stop, nothing written twice', async () => {
    const api = await hostile(cursorPages({ A: { from: 0, next: 'B' }, B: { from: 3, next: 'C' }, C: { from: 6, next: 'A' } }));
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next'];
    const first = await harvest(args);
    for (let i = 0; i < 3; i++) {
      const again = await harvest(args, { out: first.out! });
      assert.equal(again.code, EXIT.incomplete);
      assert.deepEqual(again.ids, upTo(9), `run ${i + 2}`);
    }
  });

  it('a cycle that starts before a resume is caught after it by the records at the end of the output', async () => {
    let down = true;
    const pages = cursorPages({ A: { from: 0, next: 'B' }, B: { from: 3, next: 'C' }, C: { from: 6, next: 'A' } });
    const api = await hostile((url, n, req, res) => (url.searchParams.get('c') === 'C' && down ? { status: 500, json: {} } : pages(url, n, req, res)));
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next', '--retries', '0'];
    const first = await harvest(args);
    assert.deepEqual(first.ids, upTo(6));
    down = false;
    const second = await harvest(args, { out: first.out! });
    assert.equal(second.code, EXIT.incomplete);
    assert.deepEqual(second.ids, upTo(9));
    assert.match(second.incomplete[0]!, /loop/);
  });

  it('a page whose next is itself stops there, written once', async () => {
    const api = await hostile((url) => ({ json: { data: recs(0, 4), next: `/x?c=${url.searchParams.get('c') ?? ''}` } }));
    const run = await harvest([`${api.origin}/x?c=`, '--paginate', 'link', '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(4));
    assert.match(run.incomplete[0]!, /the next page is the page itself/);
  });

  it('link pagination whose last page links back to the first stops, each record once', async () => {
    const api = await hostile((url) => {
      const page = Number(url.searchParams.get('page'));
      return { json: recs((page - 1) * 2, page * 2), headers: { link: `</x?page=${page === 3 ? 1 : page + 1}>; rel="next"` } };
    });
    const run = await harvest([`${api.origin}/x?page=1`, '--paginate', 'link']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(6));
  });

  it('a server that ignores the page parameter (offset, with a total): the second page repeats the first, the run stops there', async () => {
    const api = await hostile(() => ({ json: { count: 1000, results: recs(0, 10) } }));
    const run = await harvest([`${api.origin}/x?pg={page}`, '--page-size', '10', '--concurrency', '4']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(10));
    assert.match(run.incomplete[0]!, /does it read the template's page parameter/);
  });

  it('a server that ignores the cursor and mints a new one each time: the repeated records stop it', async () => {
    const api = await hostile((_url, n) => ({ json: { data: recs(0, 5), next: `fresh-${n}` } }));
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(5));
    assert.equal(api.requests.length, 2);
  });

  it('a cycle of empty pages (A → B → A, no records) is caught by its URLs', async () => {
    const api = await hostile((url) => ({ json: { data: [], next: url.searchParams.get('c') === 'B' ? 'A' : 'B' } }));
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.ok(api.requests.length <= 3);
  });

  it('records that repeat only in part (an overlap, not a loop) are written whole', async () => {
    const api = await hostile((url) => {
      const at = Number(url.searchParams.get('c') || 0);
      return { json: { data: recs(Math.max(0, at - 1), at + 5), next: at < 10 ? String(at + 5) : null } };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, [1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15]);
  });
});
