// The fair shares' Lua (src/store/lua/fair-share.ts, pasted into reserve-shared) against its
// TypeScript twin (src/store/fair-share.ts): the same decisions and the same members' rows on
// random schedules of several members, on virtual time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { GcraState } from '../../../src/algorithms/gcra.js';
import { toLimitSpecs } from '../../../src/index.js';
import { decideShared, memberPace, memberRow, type MemberRow } from '../../../src/store/fair-share.js';
import { limitParams, rateScripts, reserveSharedArgv, sequenceOf } from '../../../src/store/lua/rate.js';
import { cleanup, connect, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

const MEMBERS = ['a', 'b', 'c', 'd'];
const opArb = fc.record({
  gap: fc.oneof(fc.constantFrom(0, 0.5, 1, 2, 5), fc.double({ min: 0, max: 40, noNaN: true })),
  member: fc.constantFrom(...MEMBERS),
  demand: fc.oneof(fc.double({ min: 0, max: 0.3, noNaN: true }), fc.constant(Number.POSITIVE_INFINITY)),
  costs: fc.array(fc.constantFrom(1, 1, 2, 3), { minLength: 1, maxLength: 4 }),
  order: fc.constantFrom<'' | 'fifo' | number>('', 'fifo', 1, 2),
});

/** A row as Redis keeps it: five packed little-endian doubles. */
function unpack(buffer: Buffer): MemberRow {
  const [demand, expiresAt, tat, emission, turn] = [0, 8, 16, 24, 32].map((at) => buffer.readDoubleLE(at));
  return { demand: demand!, expiresAt: expiresAt!, tat: tat!, emission: emission!, turn: turn! };
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

describe('fair shares: the Lua and its TypeScript twin agree', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('fair-share');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('on random schedules of members asking with random demands: every wait and every row', async () => {
    const specs = toLimitSpecs([{ rate: '20/100ms', algorithm: 'gcra', burst: 5 }], {});
    const spec = specs[0]!;
    const script = rateScripts(sequenceOf(specs)).reserveShared;
    const params = limitParams(specs, 0);
    const share = { capacity: spec.limit / spec.intervalMs, headroom: 1.25, shareTol: 4, keepMs: 2 };
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const keys = [`${prefix}{p${run}}:0:g3`, `${prefix}{p${run}}:members1`];
        run++;
        const gcra = new GcraState(spec);
        const rows = new Map<string, MemberRow>();
        let now = 1_000;
        for (const op of ops) {
          now += op.gap;
          const argv = reserveSharedArgv({ now: String(now), ttlFloor: '60000', params }, op.order, { member: op.member, demand: op.demand, ...share }, op.costs);
          const reply = String(await client.eval(script.source, keys.length, ...keys, ...argv)).split(',');
          const pace = memberPace(rows, op.member, op.demand, share.capacity, share.headroom, share.shareTol, now);
          const inOrder = op.order === 'fifo' ? Number.POSITIVE_INFINITY : op.order === '' ? 0 : op.order;
          const limits = { wait: (cost: number) => gcra.waitMs(now, cost), take: (cost: number) => gcra.take(now, cost) };
          const waits = decideShared(pace, limits, op.costs, inOrder, now);
          rows.set(op.member, memberRow(pace, op.demand, share.keepMs, now));
          const lua = reply.slice(2).map((item) => (item === '0' || item === '0!' ? 0 : item === 'inf' ? Number.POSITIVE_INFINITY : Number(item)));
          assert.equal(lua.length, waits.length, `items: lua ${reply.join(',')} twin ${waits.join(',')}`);
          for (const [i, wait] of waits.entries()) assert.ok(close(lua[i]!, wait), `item ${i} at ${now}: lua ${lua[i]} twin ${wait}`);
        }
        // The rows Redis holds for the members still counted agree with the twin's.
        const stored = await client.hgetallBuffer(keys[1]!);
        for (const [name, row] of rows) {
          if (row.expiresAt <= now) continue;
          const buffer = stored[name];
          assert.ok(buffer !== undefined, `row of ${name}`);
          const lua = unpack(buffer);
          for (const field of ['demand', 'expiresAt', 'tat', 'emission', 'turn'] as const) assert.ok(close(lua[field], row[field]), `${name}.${field}: lua ${lua[field]} twin ${row[field]}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
