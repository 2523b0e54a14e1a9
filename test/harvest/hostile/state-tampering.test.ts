// A state file edited by hand or damaged, or an output changed behind the state's back, is
// refused before any request (exit 5), naming the file and the field — never an emptied
// output, a page written twice, or a raw Node error.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { harvest, hostile, offsetApi, recs, type HostileServer } from './hostile.js';

/** A harvest of 30 records stopped after 2 of its 3 pages, its state edited by `edit`, then run again. */
async function resumeEdited(edit: (state: Record<string, unknown>) => void, api?: HostileServer) {
  const server = api ?? (await hostile(offsetApi(30)));
  const args = [`${server.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1'];
  const first = await harvest([...args, '--max-pages', '2']);
  const path = `${first.out!}.state.json`;
  const state = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete state.end; // what --max-pages set: the resume would have nothing to do
  edit(state);
  writeFileSync(path, JSON.stringify(state));
  const before = readFileSync(first.out!, 'utf8');
  const requests = server.requests.length;
  const run = await harvest(args, { out: first.out! });
  return { run, before, after: readFileSync(first.out!, 'utf8'), fetched: server.requests.length - requests };
}

describe('hostile: a state file edited or damaged', () => {
  const cases: Array<[string, (s: Record<string, unknown>) => void, RegExp]> = [
    ['a negative byte count', (s) => (s.bytes = -5), /field bytes must be a whole number >= 0 \(got -5\)/],
    ['a fractional byte count', (s) => (s.bytes = 3.5), /field bytes must be a whole number >= 0 \(got 3\.5\)/],
    ['a negative page index', (s) => (s.nextIndex = -1), /field nextIndex must be a whole number >= 0 \(got -1\)/],
    ['a fractional page index', (s) => (s.nextIndex = 1.5), /field nextIndex must be a whole number >= 0 \(got 1\.5\)/],
    ['a page index past the pages written', (s) => (s.nextIndex = 99), /field nextIndex is past the pages written \(2\) and failed \(0\) \(got 99\)/],
    ['a record count that is a string', (s) => (s.records = 'x'), /field records must be a whole number >= 0 \(got "x"\)/],
    ['more records than its bytes can hold', (s) => (s.records = 1000), /field bytes is too few for the 1000 records counted/],
    ['an unknown version', (s) => (s.version = 9), /is not a harvest state file this version reads \(version 9\)/],
    ['an unknown pagination', (s) => (s.paginate = 'sideways'), /field paginate must be offset, page, cursor or link/],
    ['a failed entry without a reason', (s) => (s.failed = [{ index: 0, url: 'http://x/' }]), /field failed\[0\]\.reason must be a string/],
    ['a byte count that ends mid-line', (s) => (s.bytes = (s.bytes as number) - 3), /do not end a line/],
  ];
  for (const [what, edit, message] of cases) {
    it(`${what}: exit 5 naming it, no request, the output untouched`, async () => {
      const { run, before, after, fetched } = await resumeEdited(edit);
      assert.equal(run.code, EXIT.state, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(fetched, 0);
      assert.equal(after, before);
    });
  }

  it('a state that is not JSON at all: exit 5, the way out named', async () => {
    const { run } = await resumeEdited(() => {});
    const api = await hostile(offsetApi(30));
    writeFileSync(`${run.out!}.state.json`, '{ "version": 3, "bytes": ');
    const again = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'], { out: run.out! });
    assert.equal(again.code, EXIT.state);
    assert.match(again.stderr, /is not a harvest state file \(not JSON\); remove it to start over/);
  });

  it('a cursor state whose next URL is not a URL: exit 5', async () => {
    const api = await hostile((url) => ({ json: { data: recs(Number(url.searchParams.get('c') || 0), Number(url.searchParams.get('c') || 0) + 2), next: '2' } }));
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next', '--max-pages', '1'];
    const first = await harvest(args);
    const state = JSON.parse(first.state!) as Record<string, unknown>;
    state.next = { at: 'url', url: 'javascript:alert(1)' };
    writeFileSync(`${first.out!}.state.json`, JSON.stringify(state));
    const run = await harvest(args, { out: first.out! });
    assert.equal(run.code, EXIT.state);
    assert.match(run.stderr, /field next\.url must be an http or https URL/);
  });

  it('an output whose last record was changed into something that is not JSON: exit 5', async () => {
    const api = await hostile(offsetApi(30));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'];
    const first = await harvest([...args, '--max-pages', '1']);
    const text = readFileSync(first.out!, 'utf8');
    writeFileSync(first.out!, `${text.slice(0, -4)}xx}\n`);
    const state = JSON.parse(first.state!) as Record<string, unknown>;
    delete state.end;
    writeFileSync(`${first.out!}.state.json`, JSON.stringify(state));
    const run = await harvest(args, { out: first.out! });
    assert.equal(run.code, EXIT.state);
    assert.match(run.stderr, /is not a JSON record: the output or the state was changed since/);
  });

  it('an output shorter than its state says: exit 5, nothing refilled', async () => {
    const api = await hostile(offsetApi(30));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'];
    const first = await harvest(args);
    writeFileSync(first.out!, readFileSync(first.out!, 'utf8').slice(0, 20));
    const run = await harvest(args, { out: first.out! });
    assert.equal(run.code, EXIT.state);
    assert.match(run.stderr, /holds 20 bytes but its state file records/);
  });

  it('a state written by another command on the same --out: exit 5, use another --out', async () => {
    const api = await hostile(offsetApi(30));
    const first = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`]);
    const run = await harvest([`${api.origin}/y?page={page}`], { out: first.out! });
    assert.equal(run.code, EXIT.state);
    assert.match(run.stderr, /belongs to a harvest with another URL template or pagination options; use another --out/);
  });

  it('bytes appended after the recorded length by hand are cut off again on resume, not kept', async () => {
    const api = await hostile(offsetApi(30));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'];
    const first = await harvest([...args, '--max-pages', '1']);
    appendFileSync(first.out!, '{"id":999}\n');
    const state = JSON.parse(first.state!) as Record<string, unknown>;
    delete state.end;
    writeFileSync(`${first.out!}.state.json`, JSON.stringify(state));
    const run = await harvest(args, { out: first.out! });
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(run.ids.includes(999), false);
    assert.equal(run.ids.length, 30);
  });
});
