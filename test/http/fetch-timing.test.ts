import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sluiceFetch, type FetchFn } from '../../src/http/index.js';
import { withMock } from './mock-helpers.js';

/** The global fetch, recording when each request left and when each answer came back. */
function recorded(): FetchFn & { log: { sentAt: number; answeredAt: number; status: number }[] } {
  const log: { sentAt: number; answeredAt: number; status: number }[] = [];
  const fn: FetchFn = async (input, init) => {
    const sentAt = performance.now();
    const res = await fetch(input, init);
    log.push({ sentAt, answeredAt: performance.now(), status: res.status });
    return res;
  };
  return Object.assign(fn, { log });
}

describe('Retry-After (timing checks)', () => {
  for (const [name, options] of [
    ['without a rate', {}],
    ['with an adaptive rate', { rate: '100/1s' }],
  ] as const) {
    it(`timing check, ${name}: after a 429 with Retry-After: 2 the next request to that server leaves ≥ 2 s later`, async (t) => {
      // One request per 2 s, spent by another client, so ours is refused with Retry-After: 2
      // (whole seconds, rounded up). Had ours seen the quota reach 0, it would not have asked.
      await withMock({ limits: '1/2s', headers: 'ietf' }, async (mock) => {
        await (await fetch(`${mock.url}/records/1`)).arrayBuffer();
        const inner = recorded();
        const f = sluiceFetch({ ...options, fetch: inner, retry: false });
        const refused = await f(`${mock.url}/records/2`);
        assert.equal(refused.status, 429);
        assert.equal(refused.headers.get('retry-after'), '2');
        const again = await f(`${mock.url}/records/3`);
        assert.equal(again.status, 200);
        const gap = inner.log[1]!.sentAt - inner.log[0]!.answeredAt;
        t.diagnostic(`gap ${gap.toFixed(1)} ms`);
        assert.ok(gap >= 2000, `next request ${gap} ms after the 429`);
        assert.equal(mock.stats().violations.total, 1);
      });
    });
  }

  it('timing check: a quota at 0 (IETF r=0;t=2) holds the next request until its reset, with no 429 spent', async () => {
    await withMock({ limits: '1/2s', headers: 'ietf' }, async (mock) => {
      const inner = recorded();
      const f = sluiceFetch({ fetch: inner, retry: false });
      await (await f(`${mock.url}/records/1`)).arrayBuffer();
      assert.equal((await f(`${mock.url}/records/2`)).status, 200);
      assert.ok(inner.log[1]!.sentAt - inner.log[0]!.answeredAt >= 1900, 'paused about until the reset');
      assert.equal(mock.stats().violations.total, 0);
    });
  });

  it('timing check: a retried 429 waits the server’s 2 s before its retry', async (t) => {
    await withMock({ limits: '1/2s', headers: 'ietf' }, async (mock) => {
      await (await fetch(`${mock.url}/records/1`)).arrayBuffer();
      const inner = recorded();
      const f = sluiceFetch({ fetch: inner });
      const res = await f(`${mock.url}/records/2`);
      assert.equal(res.status, 200);
      assert.deepEqual(
        inner.log.map((l) => l.status),
        [429, 200],
      );
      const gap = inner.log[1]!.sentAt - inner.log[0]!.answeredAt;
      t.diagnostic(`gap ${gap.toFixed(1)} ms`);
      assert.ok(gap >= 2000, `retried ${gap} ms after the 429`);
    });
  });
});
