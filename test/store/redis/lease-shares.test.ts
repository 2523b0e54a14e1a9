// Fair shares of a leasing fleet, on virtual time (lease-sim.ts): what issue 18 asks of the
// mechanism, apart from this machine's load — the bench (bench/fleet.bench.ts) measures the
// same on real time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countIn, simulateFleet } from './lease-sim.js';
import { cleanup, connect, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('a leasing fleet shares a binding limit fairly (virtual time)', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('lease-shares');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('16 greedy members of 1000/s each get a sixteenth, the fleet all of it, at under 2.5 script calls per admission (the refused herd comes back at its own turns)', async () => {
    const { starts, calls } = await simulateFleet(client, prefix, 'greedy', { members: 16, rate: '1000/1s', durationMs: 3000, want: () => ({ kind: 'greedy' }) });
    const each = starts.map((s) => countIn(s, 1000, 3000));
    const report = `per member over the last 2 s: ${each.join(' ')}; ${sum(calls)} calls for ${sum(starts.map((s) => s.length))} starts`;
    for (const n of each) assert.ok(n >= 0.8 * 125 && n <= 1.2 * 125, `a member far from its share (125): ${report}`);
    // 1000 per 1.02 s: each start is counted the lease period (and start lag) longer
    assert.ok(sum(each) >= 0.97 * 2000, `the fleet used less than 97 %: ${report}`);
    assert.ok(sum(calls) / sum(starts.map((s) => s.length)) < 2.5, report);
  });

  it('a light half gets what it asks beside a greedy half, which gets the rest, not more; when demand shifts, shares follow within 100 ms', async () => {
    // 8 light members ask one start per 50 ms (160/s in all), 8 greedy ones all they can get; at 1.5 s they swap.
    const { starts } = await simulateFleet(client, prefix, 'shift', {
      members: 16,
      rate: '1000/1s',
      durationMs: 3000,
      want: (m, t) => ((m < 8) === (t < 1500) ? { kind: 'greedy' } : { kind: 'light', gapMs: 50 }),
    });
    const a = starts.slice(0, 8).flat();
    const b = starts.slice(8).flat();
    const report = `A ${countIn(a, 500, 1500)} → ${countIn(a, 1500, 2500)}, B ${countIn(b, 500, 1500)} → ${countIn(b, 1500, 2500)}; by 100 ms after the shift B ${Array.from({ length: 10 }, (_, i) => countIn(b, 1500 + 100 * i, 1600 + 100 * i)).join(' ')}`;
    assert.ok(countIn(b, 500, 1500) >= 0.9 * 160, `the light half before: ${report}`);
    assert.ok(countIn(a, 1600, 2600) >= 0.9 * 160, `the light half after: ${report}`);
    assert.ok(countIn(a, 500, 1500) >= 0.9 * (980 - 160), `the greedy half before: ${report}`);
    const settled = countIn(b, 1600, 2600) / 10;
    assert.ok(settled >= 0.9 * (980 - 160) / 10, `the greedy half after: ${report}`);
    assert.ok(countIn(b, 1500, 1600) >= 0.75 * settled, `the newly greedy half in its first 100 ms: ${report}`);
  });

  it("kill -9 of 4 of 16: the survivors take the whole limit from 2 lease periods after (the dead members' shares come back)", async () => {
    const { starts } = await simulateFleet(client, prefix, 'kill', {
      members: 16,
      rate: '1000/1s',
      durationMs: 3000,
      want: () => ({ kind: 'greedy' }),
      kill: { at: 1500, members: [0, 1, 2, 3] },
    });
    const survivors = starts.slice(4).flat();
    const report = `survivors: ${countIn(survivors, 1500, 1520)} in the 20 ms after the kill, ${countIn(survivors, 1520, 1620)} in the 100 ms from +20 ms, ${countIn(survivors, 1520, 2520)} in the 1 s from +20 ms`;
    assert.ok(countIn(survivors, 1520, 1620) >= 95, report);
    assert.ok(countIn(survivors, 1520, 2520) >= 0.95 * 1000, report);
  });
});
