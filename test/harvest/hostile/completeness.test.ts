// A harvest knows when it is incomplete: against the total a server states, the page size it
// really serves, pages that come back short or empty. It fetches what is missing when it can,
// and otherwise ends with exit 3 and a line naming the gap — never "done" with exit 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { harvest, hostile, idsOf, offsetApi, recs, upTo } from './hostile.js';

describe('hostile: completeness', () => {
  it('a server that caps its pages below --page-size: the first page teaches the size, offsets and {limit} follow it, every record once', async () => {
    const api = await hostile(offsetApi(1000, (offset, limit) => ({ json: { count: 1000, results: recs(offset, offset + Math.min(limit, 50), 1000) } })));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '100', '--concurrency', '4']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(1000));
    assert.equal(api.requests.length, 20);
    assert.equal(api.requests[1], '/x?offset=50&limit=50');
  });

  it('page pagination against a capped page size counts the total in the pages served', async () => {
    const api = await hostile((url) => {
      const page = Number(url.searchParams.get('page'));
      const per = Math.min(25, Number(url.searchParams.get('per_page')));
      return { json: { total: 230, data: recs((page - 1) * per, page * per, 230) } };
    });
    const run = await harvest([`${api.origin}/x?page={page}&per_page={limit}`, '--page-size', '100']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(230));
  });

  it('a capped page size without a total: one page after another at the size served, to the empty page', async () => {
    const api = await hostile((url) => {
      const offset = Number(url.searchParams.get('offset'));
      return { json: { results: recs(offset, offset + Math.min(30, Number(url.searchParams.get('limit'))), 95) } };
    });
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '100']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(95));
  });

  it('a server that ignores {limit} and serves more than asked: its size is the page size, nothing written twice', async () => {
    const api = await hostile(offsetApi(300, (offset) => ({ json: { count: 300, results: recs(offset, offset + 40, 300) } })));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(300));
  });

  it('a page empty once in the middle of a stated total is asked again, and the harvest is whole', async () => {
    let once = true;
    const api = await hostile(offsetApi(500, (offset) => (offset === 200 && once ? ((once = false), { json: { count: 500, results: [] } }) : undefined)));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50', '--concurrency', '1']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(500));
  });

  it('a page short once is asked again, and the harvest is whole', async () => {
    let once = true;
    const api = await hostile(offsetApi(200, (offset) => (offset === 100 && once ? ((once = false), { json: { count: 200, results: recs(100, 130) } }) : undefined)));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(200));
  });

  it('a page that stays empty while later pages have records: exit 3, the page named in the failed file; --retry-failed gets it once the server heals', async () => {
    let broken = true;
    const api = await hostile(offsetApi(300, (offset) => (offset === 100 && broken ? { json: { count: 300, results: [] } } : undefined)));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete, first.stderr);
    assert.deepEqual(first.ids, [...upTo(100), ...upTo(300).slice(150)]);
    assert.match(first.failed!, /"page":2,.*"reason":"empty, while the stated total \(300\) puts records on it and page 3 had some"/);
    assert.match(first.incomplete.join('\n'), /1 pages not written whole, listed in .*failed\.ndjson; --retry-failed fetches them again/);
    broken = false;
    const healed = await harvest([...args, '--retry-failed'], { out: first.out! });
    assert.equal(healed.code, EXIT.complete, healed.stderr);
    assert.deepEqual([...healed.ids].sort((a, b) => a - b), upTo(300));
  });

  it('a page that stays short: its records are written and it is listed with how many; --retry-failed appends only the rest', async () => {
    let broken = true;
    const api = await hostile(offsetApi(200, (offset) => (offset === 50 && broken ? { json: { count: 200, results: recs(50, 70) } } : undefined)));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete);
    assert.equal(first.ids.length, 170);
    assert.match(first.failed!, /"page":1,.*20 of the 50 records the stated total \(200\) puts on this page/);
    assert.match(first.incomplete[0]!, /1 of them short/);
    broken = false;
    const healed = await harvest([...args, '--retry-failed'], { out: first.out! });
    assert.equal(healed.code, EXIT.complete, healed.stderr);
    assert.deepEqual([...healed.ids].sort((a, b) => a - b), upTo(200));
    assert.deepEqual(healed.ids.slice(-30), upTo(100).slice(70, 100));
  });

  it('a total that overstates the data: the pages run empty, the harvest stops after a few (not at the total) and says how short it is', async () => {
    const api = await hostile(offsetApi(0, (offset, limit) => ({ json: { count: 1_000_000, results: recs(offset, offset + limit, 130) } })));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50', '--concurrency', '2']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(130));
    // The last page with records, short of a page, is listed; then where the pages ran empty.
    assert.match(run.incomplete[0]!, /1 pages not written whole \(1 of them short/);
    assert.match(run.incomplete[1]!, /the server stated 1,000,000 records, but its pages were empty from page 3 on after 130; --retry-failed asks from there again/);
    assert.ok(api.requests.length < 100, `${api.requests.length} requests of the 20,000 pages the total implies`);
  });

  it('records served after the data seemed to end are fetched by --retry-failed, from where the pages ran empty', async () => {
    let total = 130;
    const api = await hostile(offsetApi(0, (offset, limit) => ({ json: { count: 300, results: recs(offset, offset + limit, total) } })));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '50', '--concurrency', '1'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete);
    total = 300;
    const rest = await harvest([...args, '--retry-failed'], { out: first.out! });
    assert.equal(rest.code, EXIT.complete, rest.stderr);
    // Page 2 had given 30 of its 50: only the other 20 are appended, then pages 3 on.
    assert.deepEqual([...rest.ids].sort((a, b) => a - b), upTo(300));
  });

  it('an empty first page while the server states records: exit 3, not "done"', async () => {
    const api = await hostile(() => ({ json: { count: 40, results: [] } }));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`]);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /stopped at page 0 .*: empty, while the server states 40 records; the first page sets the page size.*run the same command again/);
  });

  it('without a total, a short page followed by more records is a gap: exit 3, the page named', async () => {
    const api = await hostile((url) => {
      const offset = Number(url.searchParams.get('offset'));
      if (offset === 20) return { json: { results: recs(20, 25) } };
      return { json: { results: recs(offset, offset + 10, 60) } };
    });
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.failed!, /"page":2,.*5 records where a page holds 10, and page 3 followed with more/);
    assert.equal(run.ids.length, 55);
  });

  it('without a total, a short last page followed by an empty one is the end: exit 0', async () => {
    const api = await hostile((url) => ({ json: { results: recs(Number(url.searchParams.get('offset')), Number(url.searchParams.get('offset')) + 10, 47) } }));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(47));
  });

  it('a page longer than a page after the first (the page size changed): not written, listed, exit 3', async () => {
    const api = await hostile(offsetApi(100, (offset) => (offset === 40 ? { json: { count: 100, results: recs(40, 75) } } : undefined)));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '20']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.failed!, /"page":2,.*35 records, more than the 20 a page held so far/);
    assert.equal(new Set(run.ids).size, run.ids.length, 'no record twice');
  });

  it('cursor: a stated total the cursor never reaches is reported short', async () => {
    const api = await hostile((url) => {
      const at = Number(url.searchParams.get('c') || 0);
      return { json: { total_count: 500, items: recs(at, at + 100), next: at < 200 ? String(at + 100) : null } };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(300));
    assert.match(run.incomplete[0]!, /the server stated 500 records, but its last page came after 300/);
  });

  it('cursor: an empty page that names a next is not the end — the next is followed', async () => {
    const api = await hostile((url) => {
      const at = Number(url.searchParams.get('c') || 0);
      return { json: { data: at === 20 ? [] : recs(at, at + 10, 50), next: at < 50 ? String(at + 10) : null } };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, [...upTo(20), ...upTo(50).slice(30)]);
  });

  it('a page with no records array in the middle: failed after its retries, listed, exit 3', async () => {
    const api = await hostile(offsetApi(60, (offset) => (offset === 20 ? { json: { count: 60, error: 'maintenance' } } : undefined)));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '20', '--retries', '0']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.failed!, /"page":1,.*no records array found in the body/);
    assert.deepEqual(run.ids, [...upTo(20), ...upTo(60).slice(40)]);
  });

  it('to stdout, a gap is reported the same way (exit 3), with the way to keep it', async () => {
    const api = await hostile(offsetApi(0, (offset, limit) => ({ json: { count: 50, results: recs(offset, offset + limit, 10) } })));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'], { out: null });
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(idsOf(run.stdout), upTo(10));
    assert.match(run.incomplete[0]!, /the server stated 50 records, but its pages were empty from page 1 on after 10/);
  });
});
