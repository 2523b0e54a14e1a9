import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Harvest } from '../../src/harvest/engine.js';
import { CRASH_POINTS, type CrashPoint } from '../../src/harvest/crash-points.js';
import { nullMonitor } from '../../src/harvest/null-monitor.js';
import { configOf, expectedNdjson, fakeApi, ORIGIN, record, tempDir as diskDir } from './helpers.js';

// The logic is under test here, not the disk: tmpfs makes each fsync free. (crash.test.ts kills real processes on disk.)
const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);

const TOTAL = 57;
const PAGE = 5; // 12 pages, the last one short
const REFERENCE = expectedNdjson(TOTAL);

class Crash extends Error {}

/** Runs a harvest that "dies" (throws, and runs nothing after) the n-th time it reaches `point`. */
async function crashAt(args: string[], point: CrashPoint, n: number, api = fakeApi(TOTAL)): Promise<void> {
  let seen = 0;
  const crash = (at: CrashPoint): void => {
    if (at === point && ++seen === n) throw new Crash(at);
  };
  // The first state is written when the harvest opens, before any record: it may die there too.
  const harvest = await Harvest.open(configOf(args), { fetch: api.fetch, crash }).catch((error: unknown) => {
    if (error instanceof Crash) return undefined;
    throw error;
  });
  if (!harvest) return;
  // Pages that finish together are committed together, so a run may reach a point fewer than n times and end.
  await harvest.run(nullMonitor).catch((error: unknown) => {
    if (!(error instanceof Crash)) throw error;
  });
  await harvest.close();
}

async function resume(args: string[], api = fakeApi(TOTAL)) {
  const harvest = await Harvest.open(configOf(args), { fetch: api.fetch });
  const outcome = await harvest.run(nullMonitor);
  await harvest.close();
  return { outcome, api, resumed: harvest.resumed };
}

function stateOf(out: string): { bytes: number; pages: number; nextIndex: number; nextUrl?: string | null } {
  return JSON.parse(readFileSync(`${out}.state.json`, 'utf8')) as { bytes: number; pages: number; nextIndex: number };
}

const MODES: Record<string, (out: string) => string[]> = {
  offset: (out) => [`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', String(PAGE), '--concurrency', '3', '--out', out],
  cursor: (out) => [`${ORIGIN}/cursor?cursor={cursor}&limit={limit}`, '--next', 'next_cursor', '--page-size', String(PAGE), '--out', out],
};

describe('harvest resume', () => {
  for (const [mode, argsOf] of Object.entries(MODES)) {
    it(`${mode}: a crash at any commit point, then any tail of bytes after the recorded length, resumes to exactly the uninterrupted output`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...CRASH_POINTS), fc.integer({ min: 1, max: 12 }), fc.nat(), async (point, n, cut) => {
          const out = join(tempDir(), 'out.ndjson');
          const args = argsOf(out);
          await crashAt(args, point, n);
          // Whatever the crash left after the recorded length — nothing, part of the next
          // page, all of it, or more — stands for a write the state never vouched for.
          // Without a state file no record was ever written (the first state precedes them).
          if (existsSync(`${out}.state.json`)) {
            const recorded = stateOf(out).bytes;
            writeFileSync(out, REFERENCE.slice(0, recorded + (cut % (REFERENCE.length - recorded + 1))));
          } else {
            assert.equal(existsSync(out) ? readFileSync(out, 'utf8') : '', '');
          }
          const before = existsSync(`${out}.state.json`) ? stateOf(out) : undefined;
          const { outcome, api } = await resume(args);
          assert.equal(readFileSync(out, 'utf8'), REFERENCE);
          assert.equal(outcome.complete, true);
          assert.equal(outcome.records, TOTAL);
          // Nothing the state had recorded as written is fetched again.
          if (before && mode === 'offset') {
            const fetched = api.requests.map((u) => Number(new URL(u).searchParams.get('offset')) / PAGE);
            assert.ok(fetched.every((page) => page >= before.nextIndex), `refetched a recorded page: ${fetched.join(',')} vs ${before.nextIndex}`);
          }
          if (before && mode === 'cursor') assert.equal(api.requests.length, 12 - before.pages);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('a state file left by another command is refused, naming the way out', async () => {
    const out = join(tempDir(), 'out.ndjson');
    await resume(MODES.offset!(out));
    await assert.rejects(Harvest.open(configOf([`${ORIGIN}/pages?page={page}`, '--out', out])), /another URL template or pagination options/);
  });

  it('an output shorter than its state says is refused rather than silently refilled', async () => {
    const out = join(tempDir(), 'out.ndjson');
    await crashAt(MODES.offset!(out), 'state-renamed', 4);
    writeFileSync(out, REFERENCE.slice(0, 10));
    await assert.rejects(Harvest.open(configOf(MODES.offset!(out))), /its state file records/);
  });

  it('a finished harvest run again fetches nothing; a leftover temp state is removed', async () => {
    const out = join(tempDir(), 'out.ndjson');
    await resume(MODES.offset!(out));
    writeFileSync(`${out}.state.json.tmp`, '{ half a state');
    const again = await resume(MODES.offset!(out));
    assert.equal(again.api.requests.length, 0);
    assert.equal(again.outcome.alreadyComplete, true);
    assert.equal(existsSync(`${out}.state.json.tmp`), false);
  });

  it('an output file with no state beside it is refused, not overwritten; an empty one is started', async () => {
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(out, 'somebody else\'s data\n');
    await assert.rejects(Harvest.open(configOf(MODES.offset!(out))), (error: Error) => /--out: exists and has no state file/.test(error.message));
    assert.equal(readFileSync(out, 'utf8'), "somebody else's data\n");
    writeFileSync(out, '');
    await resume(MODES.offset!(out));
    assert.equal(readFileSync(out, 'utf8'), REFERENCE);
  });

  it('failed pages go to <out>.failed.ndjson with the reason; --retry-failed fetches them and appends their records', async () => {
    const out = join(tempDir(), 'out.ndjson');
    const args = [...MODES.offset!(out), '--retries', '0'];
    const flaky = fakeApi(TOTAL, (url) => (['10', '35'].includes(url.searchParams.get('offset')!) ? { status: 404, body: { error: 'gone' } } : undefined));
    const first = await resume(args, flaky);
    assert.equal(first.outcome.complete, true);
    assert.deepEqual(first.outcome.failed.map((f) => [f.index, f.reason]), [[2, 'HTTP 404'], [7, 'HTTP 404']]);
    const lines = readFileSync(`${out}.failed.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { page: number; reason: string; url: string });
    assert.deepEqual(lines.map((l) => l.page), [2, 7]);
    assert.match(lines[0]!.url, /offset=10/);
    const healed = await resume([...args, '--retry-failed']);
    assert.deepEqual(healed.outcome.failed, []);
    assert.equal(healed.api.requests.length, 2);
    assert.equal(existsSync(`${out}.failed.ndjson`), false);
    const text = readFileSync(out, 'utf8');
    const ids = text.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i + 1));
    assert.deepEqual(ids.slice(-10), [11, 12, 13, 14, 15, 36, 37, 38, 39, 40]); // retried pages come last
  });

  it('a next link refused after a page is written: each run asks that page again for its next only, and never writes it twice', async () => {
    const out = join(tempDir(), 'out.ndjson');
    const args = [`${ORIGIN}/p1?c={cursor}`, '--next', 'next', '--out', out];
    const elsewhere = () => fakeApi(0, (url) => (url.host === 'api.test' ? { body: { data: [record(0)], next: 'https://elsewhere.test/p2' } } : { body: { data: [record(1)], next: null } }));
    for (const run of [1, 2]) {
      const { outcome, api } = await resume(args, elsewhere());
      assert.deepEqual(api.requests, [`${ORIGIN}/p1?c=`], `run ${run}`);
      assert.match(outcome.failed[0]!.reason, /^after this page: next link to another origin/);
      assert.equal(readFileSync(out, 'utf8'), expectedNdjson(1));
    }
    const { outcome, api } = await resume([...args, '--allow-origin', 'https://elsewhere.test'], elsewhere());
    assert.deepEqual(api.requests, [`${ORIGIN}/p1?c=`, 'https://elsewhere.test/p2']);
    assert.deepEqual({ records: outcome.records, pages: outcome.pages, failed: outcome.failed, complete: outcome.complete }, { records: 2, pages: 2, failed: [], complete: true });
    assert.equal(readFileSync(out, 'utf8'), expectedNdjson(2));
  });
});
