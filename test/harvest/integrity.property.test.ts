// The harvest's promise as a property, against servers that misbehave at random: whatever a
// server does — cap its pages, answer a page empty or short, fail, state a total it does not
// serve, go round in a cycle — no record is ever written twice; a run that reports no gap
// holds every record, in order; and once the server behaves, running again (with
// --retry-failed) gets every record, each once. The in-process fetch answers at once, so
// hundreds of harvests take seconds.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Harvest } from '../../src/harvest/engine.js';
import { nullMonitor } from '../../src/harvest/null-monitor.js';
import type { FetchFn } from '../../src/http/fetch-options.js';
import { configOf, tempDir as diskDir } from './helpers.js';

const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);

type Fault = 'ok' | 'empty' | 'short' | 'fail';

interface Server {
  records: number;
  /** The most records a page holds, whatever is asked. */
  cap: number | undefined;
  /** What it states as the total: the truth, nothing, or more than it has. */
  total: 'exact' | 'none' | 'over';
  /** What the n-th request meets (then every request is answered honestly). */
  faults: Fault[];
}

/** A server over records 1..records, paginated as `mode` says, misbehaving as `server` says. */
function serverFetch(mode: 'offset' | 'page' | 'cursor', server: Server): { fetch: FetchFn; requests: () => number } {
  let n = 0;
  const fetch: FetchFn = async (input) => {
    const url = new URL(String(input));
    const fault = server.faults[n++] ?? 'ok';
    if (fault === 'fail') return new Response('{"error":"boom"}', { status: 500 });
    const q = (name: string): number => Number(url.searchParams.get(name) || 0);
    const asked = q('limit');
    const size = Math.min(asked, server.cap ?? asked);
    const from = mode === 'offset' ? q('offset') : mode === 'page' ? (q('page') - 1) * size : q('cursor');
    let to = Math.min(server.records, from + size);
    if (fault === 'empty') to = from;
    if (fault === 'short' && to - from > 1) to = from + Math.floor((to - from) / 2);
    const data = Array.from({ length: Math.max(0, to - from) }, (_, i) => ({ id: from + i + 1 }));
    const total = server.total === 'none' ? undefined : server.total === 'exact' ? server.records : server.records + 7 * size + 3;
    const next = mode === 'cursor' && from + size < server.records ? String(from + size) : null;
    return new Response(JSON.stringify({ ...(total === undefined ? {} : { count: total }), results: data, next }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, requests: () => n };
}

const TEMPLATES = {
  offset: 'https://api.test/r?offset={offset}&limit={limit}',
  page: 'https://api.test/r?page={page}&limit={limit}',
  cursor: 'https://api.test/r?cursor={cursor}&limit={limit}',
};

async function run(args: string[], fetch: FetchFn) {
  const harvest = await Harvest.open(configOf(args), { fetch });
  try {
    return await harvest.run(nullMonitor);
  } finally {
    await harvest.close();
  }
}

function idsIn(out: string): number[] {
  const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => (JSON.parse(line) as { id: number }).id);
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('harvest integrity, as a property', () => {
  it('against random misbehaviour: never a record twice; no gap reported means every record in order; healed, every record once', async () => {
    const server = fc.record({
      records: fc.integer({ min: 0, max: 90 }),
      cap: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      total: fc.constantFrom('exact' as const, 'none' as const, 'over' as const),
      faults: fc.array(fc.constantFrom<Fault>('ok', 'ok', 'empty', 'short', 'fail'), { maxLength: 25 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('offset' as const, 'page' as const, 'cursor' as const), server, fc.integer({ min: 1, max: 15 }), fc.integer({ min: 1, max: 4 }), async (mode, generated, pageSize, concurrency) => {
        const s = { ...generated, faults: [...generated.faults] }; // the server spends its faults; fast-check's value stays as it was
        // A cursor listing cannot tell a page answered short or empty from a short or empty
        // page, nor ask for the rest once it has gone on (a stated total reports the shortfall,
        // test/harvest/hostile/completeness.test.ts): only failures are its to survive here.
        // Nor can any listing without a total tell an empty or short last page from the end.
        if (mode === 'cursor' || s.total === 'none') s.faults = s.faults.map((f) => (f === 'fail' ? f : 'ok'));
        const out = join(tempDir(), 'out.ndjson');
        const args = [TEMPLATES[mode], '--page-size', String(pageSize), '--concurrency', String(concurrency), '--retries', '0', '--out', out, ...(mode === 'cursor' ? ['--next', 'next'] : [])];
        const api = serverFetch(mode, s);
        const first = await run(args, api.fetch);
        const firstIds = idsIn(out);
        assert.equal(new Set(firstIds).size, firstIds.length, `a record twice: ${firstIds.join(',')}`);
        if (first.gaps.length === 0) assert.deepEqual(firstIds, upTo(s.records), 'no gap reported, yet records are missing or out of order');
        // The server behaves from here on (its faults are spent); each run goes on from the last.
        let outcome = first;
        for (let round = 0; round < 4 && outcome.gaps.length > 0; round++) {
          s.faults = [];
          outcome = await run([...args, ...(mode === 'cursor' ? [] : ['--retry-failed'])], api.fetch);
          const ids = idsIn(out);
          assert.equal(new Set(ids).size, ids.length, `a record twice after round ${round + 2}: ${ids.join(',')}`);
        }
        const ids = idsIn(out);
        assert.deepEqual([...ids].sort((a, b) => a - b), upTo(s.records), 'healed, yet records are missing');
        if (s.total !== 'over') assert.deepEqual(outcome.gaps, [], 'healed, yet a gap is reported');
        if (s.total === 'over') assert.ok(outcome.gaps.length > 0, 'an overstated total is reported');
      }),
      { numRuns: 150 },
    );
  });

  it('against a cursor that cycles anywhere: the harvest ends, and no record is written twice', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 29 }), fc.integer({ min: 1, max: 5 }), async (pages, back, size) => {
        const to = back % pages;
        let n = 0;
        const fetch: FetchFn = async (input) => {
          n++;
          const at = Number(new URL(String(input)).searchParams.get('c') || 0);
          const next = at + 1 < pages ? at + 1 : to; // the last page leads back to page `to`
          return new Response(JSON.stringify({ data: Array.from({ length: size }, (_, i) => ({ id: at * size + i + 1 })), next: String(next) }), { headers: { 'content-type': 'application/json' } });
        };
        const out = join(tempDir(), 'out.ndjson');
        const outcome = await run(['https://api.test/r?c={cursor}', '--next', 'next', '--out', out], fetch);
        const ids = idsIn(out);
        assert.deepEqual(ids, upTo(pages * size));
        assert.equal(outcome.gaps[0]?.kind, 'stopped');
        assert.ok(n <= pages + 1);
      }),
      { numRuns: 100 },
    );
  });
});
