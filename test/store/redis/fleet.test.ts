import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countIn, logServerStalls, stalledMsIn } from '../../stall-log.js';
import { maxInWindow, runFleet } from './fleet.js';
import { cleanup, connect, REDIS_ADDRESS, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

describe('a fleet of processes shares one limit through Redis', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('fleet');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('timing check: 4 processes share 200/s for 10 s — no 1 s window over 200 unless a process stalled past the margin; at least 97% used over the time the machine let it run', async (t) => {
    // slack 50 ms: a process that wakes late (2 shared cores) keeps its turn, so stalls do not
    // waste the rate. The store's defaults: an admission answered more than startLagMs (10 ms)
    // after Redis decided is given back, and each start is counted for 1 s + the arrival
    // jitter (20 ms at 1 s). So a start may be up to 10 ms later than its decision after
    // that check, and the window holds — unless the process stalls longer between the check
    // and its start: what the guarantee leaves out, and what two CPU-bound processes beside the
    // suite cause. A window over 200 must come with such a stall.
    const limits = JSON.stringify({ rate: '200/1s', slack: '50ms' });
    const redisStalls = logServerStalls(() => client.ping());
    const { starts, startAt, endAt, stats, maxStallMs, stalls } = await runFleet(4, 10_000, [REDIS_ADDRESS, prefix, limits, JSON.stringify({}), '16']);
    const silences = [...stalls, ...(await redisStalls.stop())];
    const most = maxInWindow(starts, 1000);
    const report = `${starts.length} starts, most in 1 s: ${most.count} at +${(most.at - startAt).toFixed(0)} ms; longest stall ${maxStallMs.toFixed(1)} ms; stores: ${JSON.stringify(stats)}`;
    assert.ok(starts[0]! >= startAt - 1, 'no start before the agreed instant');
    assert.ok(most.count <= 200 || maxStallMs > 20 - 10, `a 1 s window held more than 200 with no stall past the margin: ${report}`);
    // Full use is a claim about the time the fleet and Redis were running: while a worker's
    // event loop or Redis's answers stop for over 20 ms (two CPU-bound processes beside the
    // suite cause many such stops) the fleet cannot start anything, which says nothing about
    // sluice. So after the first second (the sliding window starts empty, and lets 200 go at
    // once), the run must hold at least 97 % of what the limit allows with its margin — 200
    // starts per 1 s + 20 ms — over the time in which nothing stopped.
    const perMs = 200 / 1020;
    const from = startAt + 1000;
    const runningMs = endAt - from - stalledMsIn(silences, from, endAt - from);
    const counted = countIn(starts, from, endAt - from);
    const report2 = `${counted} starts after the first second, in ${runningMs.toFixed(0)} ms running of ${(endAt - from).toFixed(0)}; ${silences.length} stalls`;
    t.diagnostic(`${report2}; ${report}`);
    assert.ok(counted >= 0.97 * perMs * runningMs, `the fleet used less than 97% of what its running time allowed (${(0.97 * perMs * runningMs).toFixed(0)}): ${report2}; ${report}`);
  });
});
