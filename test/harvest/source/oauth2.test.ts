import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import type { FetchFn } from '../../../src/http/fetch-options.js';
import { OAuth2Token, withOAuth2 } from '../../../src/harvest/source/oauth2.js';

const auth = { type: 'oauth2' as const, tokenUrl: 'https://auth.test/token', clientId: 'app', clientSecret: 'secret-value', scope: undefined, refreshBeforeMs: 60_000 };

/** A token endpoint issuing tok-1, tok-2… for `ttl` seconds, and an API that admits only `live`. */
function server(ttl: number): { fetch: FetchFn; issued: () => number; sent: string[]; live: Set<string> } {
  let issued = 0;
  const sent: string[] = [];
  const live = new Set<string>();
  const fetch: FetchFn = async (url, init) => {
    if (url === auth.tokenUrl) {
      const token = `tok-${++issued}`;
      live.add(token);
      return new Response(JSON.stringify({ access_token: token, expires_in: ttl }), { status: 200 });
    }
    const bearer = new Headers(init.headers).get('authorization') ?? '';
    sent.push(bearer);
    return new Response('[]', { status: live.has(bearer.slice(7)) ? 200 : 401 });
  };
  return { fetch, issued: () => issued, sent, live };
}

describe('OAuth2 client credentials', () => {
  it('shares one token, renews it refreshBefore ahead of its expiry', async () => {
    const clock = new ManualClock();
    const api = server(3600);
    const token = new OAuth2Token(auth, api.fetch, clock);
    const fetch = withOAuth2(api.fetch, token, 'https://api.test', async () => {});
    await Promise.all([1, 2, 3].map(() => fetch('https://api.test/a', {})));
    assert.equal(api.issued(), 1, 'concurrent requests share one token request');
    await clock.advance(3600_000 - 60_001);
    await fetch('https://api.test/a', {});
    assert.equal(api.issued(), 1);
    await clock.advance(1);
    await fetch('https://api.test/a', {});
    assert.equal(api.issued(), 2, 'renewed a minute before it expires');
    assert.deepEqual(api.sent.at(-1), 'Bearer tok-2');
  });

  it('renews once on a 401 and sends again after taking the resend from the rate limit', async () => {
    const clock = new ManualClock();
    const api = server(3600);
    const token = new OAuth2Token(auth, api.fetch, clock);
    let resends = 0;
    const fetch = withOAuth2(api.fetch, token, 'https://api.test', async () => void resends++);
    assert.equal((await fetch('https://api.test/a', {})).status, 200);
    api.live.clear(); // revoked
    assert.equal((await fetch('https://api.test/a', {})).status, 200);
    assert.equal(api.issued(), 2);
    assert.equal(resends, 1);
    api.live.clear();
    api.live.add('never');
    const stubborn = withOAuth2(async (url, init) => (url === auth.tokenUrl ? api.fetch(url, init) : new Response('', { status: 401 })), token, 'https://api.test', async () => {});
    assert.equal((await stubborn('https://api.test/a', {})).status, 401, 'a second 401 is the answer: no loop');
  });

  it('sends no token to another origin', async () => {
    const api = server(3600);
    const fetch = withOAuth2(api.fetch, new OAuth2Token(auth, api.fetch, new ManualClock()), 'https://api.test', async () => {});
    await fetch('https://elsewhere.test/a', {});
    assert.deepEqual(api.sent, ['']);
    assert.equal(api.issued(), 0);
  });
});
