import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sluiceFetch } from '../../src/http/index.js';
import { withMock } from './mock-helpers.js';

// The `fetch` option types of popular clients, as they declare them (no dependency on them):
/** openai (v4 and v5) `ClientOptions.fetch`; RequestInfo is `string | Request`. */
type OpenAiFetch = (url: string | Request | URL, init?: RequestInit) => Promise<Response>;
/** ky `Options.fetch`. */
type KyFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
/** A client that takes any fetch, calling it the way the OpenAI SDK does (URL string, init with signal). */
class TinyClient {
  constructor(private readonly options: { baseURL: string; fetch?: OpenAiFetch }) {}
  async get(path: string): Promise<unknown> {
    const doFetch = this.options.fetch ?? fetch;
    const res = await doFetch(`${this.options.baseURL}${path}`, { method: 'GET', headers: { authorization: 'Bearer sk-test' }, signal: AbortSignal.timeout(5000) });
    return res.json();
  }
}

describe('sluiceFetch fits where a fetch is expected', () => {
  it('assigns to typeof fetch, the OpenAI SDK and ky fetch option types (checked by tsc)', () => {
    const f = sluiceFetch({ rate: '10/1s' });
    const asGlobal: typeof fetch = f;
    const asOpenAi: OpenAiFetch = f;
    const asKy: KyFetch = f;
    const kyOptions: { fetch?: KyFetch; prefixUrl?: string } = { fetch: f, prefixUrl: 'http://127.0.0.1' };
    assert.equal(typeof asGlobal, 'function');
    assert.equal(typeof asOpenAi, 'function');
    assert.equal(typeof asKy, 'function');
    assert.equal(kyOptions.fetch, f);
  });

  it('a client given sluiceFetch as its fetch gets real answers through it', async () => {
    await withMock({ limits: '5/1s', headers: 'ietf' }, async (mock) => {
      const client = new TinyClient({ baseURL: mock.url, fetch: sluiceFetch({ rate: '5/1s' }) });
      const bodies = await Promise.all([1, 2, 3].map((id) => client.get(`/records/${id}`)));
      assert.deepEqual(
        bodies.map((b) => (b as { id: number }).id),
        [1, 2, 3],
      );
      assert.equal(mock.stats().violations.total, 0);
    });
  });
});
