import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { maxInWindow, runFleet } from './fleet.js';
import { cleanup, connect, REDIS_URL, skipRedis, uniquePrefix } from './redis-available.js';

describe('a fleet of processes shares one limit through Redis', { skip: skipRedis }, () => {
  let client: Redis;
  const prefix = uniquePrefix('fleet');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('timing check: 4 processes share 200/s for 10 s — no 1 s window over 200, at least 97% used', async () => {
    // slack 50 ms: a process that wakes late (2 shared cores) keeps its turn, so stalls do not
    // waste the rate; startLagMs 20: how late after Redis's decision a start may be stamped.
    const limits = JSON.stringify({ rate: '200/1s', slack: '50ms' });
    const { starts, startAt, stats } = await runFleet(4, 10_000, [REDIS_URL, prefix, limits, JSON.stringify({ startLagMs: 20 }), '16']);
    const most = maxInWindow(starts, 1000);
    const report = `${starts.length} starts, most in 1 s: ${most.count} at +${(most.at - startAt).toFixed(0)} ms; stores: ${JSON.stringify(stats)}`;
    assert.ok(starts[0]! >= startAt - 1, 'no start before the agreed instant');
    assert.ok(most.count <= 200, `a 1 s window held more than 200: ${report}`);
    assert.ok(starts.length >= 0.97 * 2000, `the fleet used less than 97% of 2000: ${report}`);
  });
});
