import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StateRefusedError } from '../../src/harvest/harvest-errors.js';
import { loadState, serializeState } from '../../src/harvest/state-file.js';
import { isDone, type HarvestState } from '../../src/harvest/state.js';
import { configOf, ORIGIN, tempDir } from './helpers.js';

const OFFSET = configOf([`${ORIGIN}/records?offset={offset}&limit={limit}`]);
const CURSOR = configOf([`${ORIGIN}/cursor?cursor={cursor}`, '--next', 'next_cursor']);

/** Writes `file` with the fingerprint `config` gives and reads it back. */
async function load(config: typeof OFFSET, file: Record<string, unknown>): Promise<HarvestState | undefined> {
  const path = join(tempDir(), 'out.ndjson.state.json');
  const { fingerprint } = JSON.parse(serializeState({ paginate: 'offset', bytes: 0, records: 0, pages: 0, nextIndex: 0, failed: [] }, config)) as { fingerprint: string };
  writeFileSync(path, JSON.stringify({ fingerprint, source: config.source, ...file }));
  return loadState(path, config);
}

const v1 = { version: 1, bytes: 42, records: 4, pages: 2, nextIndex: 0, done: false, failed: [] };

describe('harvest state file', () => {
  it('version 3 is the state as it is, and reads back the same', async () => {
    const state: HarvestState = { paginate: 'cursor', bytes: 9, records: 1, pages: 1, next: { at: 'url', url: `${ORIGIN}/cursor?cursor=abc` }, stopped: { url: `${ORIGIN}/cursor?cursor=abc`, reason: 'HTTP 500' } };
    const path = join(tempDir(), 'out.ndjson.state.json');
    writeFileSync(path, serializeState(state, CURSOR));
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { version: number }).version, 3);
    assert.deepEqual(await loadState(path, CURSOR), state);
  });

  it('version 1 cursor/link: nextUrl undefined is the first page, a URL the next page, null the end; done is the end whatever nextUrl says', async () => {
    assert.deepEqual(await load(CURSOR, v1), { paginate: 'cursor', bytes: 42, records: 4, pages: 2, next: { at: 'first' } });
    assert.deepEqual((await load(CURSOR, { ...v1, nextUrl: `${ORIGIN}/cursor?cursor=x` }))!, { paginate: 'cursor', bytes: 42, records: 4, pages: 2, next: { at: 'url', url: `${ORIGIN}/cursor?cursor=x` } });
    assert.equal(isDone((await load(CURSOR, { ...v1, nextUrl: null, done: true }))!), true);
    assert.equal(isDone((await load(CURSOR, { ...v1, nextUrl: `${ORIGIN}/cursor?cursor=x`, done: true }))!), true); // --max-pages
  });

  it('version 1 cursor/link: the failure of a run that did not finish is where it stopped', async () => {
    const failed = [{ url: `${ORIGIN}/cursor?cursor=x`, reason: 'HTTP 500' }];
    const state = await load(CURSOR, { ...v1, nextUrl: `${ORIGIN}/cursor?cursor=x`, failed });
    assert.deepEqual(state && 'next' in state ? [state.next, state.stopped] : undefined, [{ at: 'url', url: `${ORIGIN}/cursor?cursor=x` }, failed[0]]);
  });

  it('version 1 cursor/link: a nextUrl that is the page whose next was refused is that page, already written, not the next one', async () => {
    const url = `${ORIGIN}/cursor?cursor=x`;
    const state = await load(CURSOR, { ...v1, nextUrl: url, failed: [{ url, reason: 'after this page: next link to another origin (https://b.test) refused' }] });
    assert.deepEqual(state && 'next' in state ? state.next : undefined, { at: 'after', url });
  });

  it('version 1 offset/page: done becomes an end only where the total does not already put one; failures with a total were skipped, without one they stopped the run', async () => {
    const total = { totalRecords: 57, totalPages: 12 };
    assert.deepEqual(await load(OFFSET, { ...v1, ...total, nextIndex: 12, done: true }), { paginate: 'offset', bytes: 42, records: 4, pages: 2, nextIndex: 12, total: { records: 57, pages: 12 }, failed: [] });
    const capped = await load(OFFSET, { ...v1, ...total, nextIndex: 4, done: true });
    assert.deepEqual(capped && 'end' in capped ? capped.end : undefined, 4);
    const skipped = [{ index: 2, url: `${ORIGIN}/records?offset=200`, reason: 'HTTP 404' }];
    assert.deepEqual(await load(OFFSET, { ...v1, ...total, nextIndex: 5, failed: skipped }), { paginate: 'offset', bytes: 42, records: 4, pages: 2, nextIndex: 5, total: { records: 57, pages: 12 }, failed: skipped });
    const stop = [{ index: 3, url: `${ORIGIN}/records?offset=300`, reason: 'HTTP 500' }];
    assert.deepEqual(await load(OFFSET, { ...v1, nextIndex: 3, failed: stop }), { paginate: 'offset', bytes: 42, records: 4, pages: 2, nextIndex: 3, failed: [], stopped: { url: stop[0]!.url, reason: 'HTTP 500' } });
  });

  it('a version it does not know, or a record that is not a state, is refused with the way out', async () => {
    await assert.rejects(load(OFFSET, { ...v1, version: 4 }), /not a harvest state file this version reads \(version 4\); remove it to start over/);
    await assert.rejects(load(OFFSET, { version: 2, paginate: 'offset', bytes: 0 }), /field records must be a whole number >= 0 \(got undefined\)/);
  });

  it('a state file with any field replaced by any JSON value is refused (StateRefusedError) or read with every count whole and in range: never trusted blindly', async () => {
    const offset: HarvestState = { paginate: 'offset', bytes: 40, records: 4, pages: 2, nextIndex: 3, failed: [{ index: 1, url: `${ORIGIN}/records?offset=100`, reason: 'HTTP 500' }], total: { records: 300, pages: 3 }, pageSize: 100 };
    const cursor: HarvestState = { paginate: 'cursor', bytes: 9, records: 1, pages: 1, next: { at: 'url', url: `${ORIGIN}/cursor?cursor=abc` }, total: 10 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom([offset, OFFSET] as const, [cursor, CURSOR] as const), fc.constantFrom('version', 'bytes', 'records', 'pages', 'nextIndex', 'failed', 'total', 'pageSize', 'next', 'paginate', 'emptyFrom', 'end', 'stopped'), fc.jsonValue(), async ([state, config], field, value) => {
        const path = join(tempDir(), 'out.ndjson.state.json');
        const file = JSON.parse(serializeState(state, config)) as Record<string, unknown>;
        file[field] = value;
        writeFileSync(path, JSON.stringify(file));
        let loaded: HarvestState | undefined;
        try {
          loaded = await loadState(path, config);
        } catch (error) {
          assert.ok(error instanceof StateRefusedError, `not a clear refusal: ${String(error)}`);
          return;
        }
        assert.ok(loaded !== undefined);
        for (const count of [loaded.bytes, loaded.records, loaded.pages, ...('nextIndex' in loaded ? [loaded.nextIndex] : [])]) assert.ok(Number.isSafeInteger(count) && count >= 0, `read a count of ${JSON.stringify(count)}`);
      }),
      { numRuns: 400 },
    );
  });
});
