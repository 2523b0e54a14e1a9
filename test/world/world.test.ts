/**
 * The referee checked: the counting server counts exactly as it says (sliding and fixed
 * windows, 429 with Retry-After, a refused request using no quota) and its hostile options
 * do what they say; the proxy delays within its bounds and keeps each connection's order.
 * Its windows are asserted on the arrival times it records, so nothing here depends on how
 * fast the machine is, except that a stall holds an answer at least as long as it says.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mostInWindow, startCountingServer, startDelayProxy, startWorld, type CountingServer } from './index.js';

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(options: Parameters<typeof startCountingServer>[0]): Promise<CountingServer> {
  const s = await startCountingServer(options);
  servers.push(s);
  return s;
}

async function get(url: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('the world: a server that counts arrivals, behind a proxy that adds jitter', () => {
  it('sliding window: admits at most N in any window of its arrivals, refuses the rest with Retry-After, and a refusal uses no quota', async () => {
    const s = await server({ limit: 3, intervalMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`${s.url}/records/${i}`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const refused = await fetch(`${s.url}/x`);
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.deepEqual(s.stats(), { requests: 6, admitted: 3, refused: 3 });
    assert.equal(mostInWindow(s.arrivals, 60_000, (a) => a.status === 200), 3);
    assert.equal((await get(`${s.url}/stats`)).status, 200, '/stats is free');
    assert.equal(s.arrivals.length, 6, '/stats is not counted');
  });

  it('fixed window: N per window of its clock, and the wait until that window ends', async () => {
    const s = await server({ limit: 2, intervalMs: 60_000, counting: 'fixed' });
    const answers = [await fetch(`${s.url}/a`), await fetch(`${s.url}/b`), await fetch(`${s.url}/c`)];
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 429],
    );
    assert.ok(Number(answers[2]!.headers.get('retry-after')) <= 60);
  });

  it('pages like the mock, capped by maxPageSize; states its limit, and lies about remaining when told', async () => {
    const s = await server({ limit: 10, intervalMs: 1000, records: 25, maxPageSize: 5, headers: 'ietf', lie: 3 });
    const page = await get(`${s.url}/records?offset=20&limit=100`);
    assert.deepEqual(page.body, { count: 25, results: [21, 22, 23, 24, 25].map((id) => ({ id })) });
    assert.equal(page.headers.get('ratelimit-policy'), '"default";q=10;w=1');
    assert.match(page.headers.get('ratelimit') ?? '', /r=12;/, '9 remaining, stated as 12');
  });

  it('stalls every n-th admitted answer', async () => {
    const s = await server({ limit: 10, intervalMs: 1000, stall: { every: 2, ms: 80 } });
    await get(`${s.url}/1`);
    const t = performance.now();
    await get(`${s.url}/2`);
    assert.ok(performance.now() - t >= 75, 'held');
  });

  it('the proxy adds minMs–maxMs to each chunk and keeps the order of each connection', async () => {
    const world = await startWorld({ limit: 1000, intervalMs: 1000, jitterMs: 15 });
    servers.push(world);
    for (let i = 0; i < 20; i++) await get(`${world.url}/records/${i}`);
    assert.deepEqual(
      world.server.arrivals.map((a) => a.path),
      Array.from({ length: 20 }, (_, i) => `/records/${i}`),
    );
    const slow = await startDelayProxy({ target: world.server.url, minMs: 40, maxMs: 40 });
    servers.push(slow);
    const t = performance.now();
    await get(`${slow.url}/x`);
    assert.ok(performance.now() - t >= 78, 'at least 40 ms each way');
  });
});
