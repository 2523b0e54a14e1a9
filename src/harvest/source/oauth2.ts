import type { Clock } from '../../core/clock.js';
import type { FetchFn } from '../../http/fetch-options.js';
import type { AuthConfig } from './source-config.js';

type OAuth2Auth = Extract<AuthConfig, { type: 'oauth2' }>;

/** The token endpoint refused or answered nonsense: every request would fail, so the harvest stops. */
export class TokenError extends Error {
  override name = 'TokenError';
}

interface Held {
  token: string;
  /** Clock time after which it is renewed (its expiry less `refreshBefore`). */
  renewAt: number;
}

/**
 * OAuth2Token: an OAuth2 client-credentials token (RFC 6749 §4.4), fetched when first needed,
 * renewed `refreshBefore` ahead of its `expires_in`, and renewed at once when the API
 * answers 401 to it (revoked, or the server's clock is ahead). Concurrent requests share
 * one token request. The client authenticates with HTTP Basic (§2.3.1); neither secret nor
 * token appears in an error.
 */
export class OAuth2Token {
  private held: Held | undefined;
  private pending: Promise<Held> | undefined;
  /** Token requests made, for tests and the report. */
  fetched = 0;

  constructor(
    private readonly auth: OAuth2Auth,
    private readonly fetch: FetchFn,
    private readonly clock: Clock,
  ) {}

  /** The current token, fetching or renewing it when due. */
  async current(signal?: AbortSignal): Promise<string> {
    const held = this.held;
    if (held !== undefined && this.clock.now() < held.renewAt) return held.token;
    return (await this.renew(signal)).token;
  }

  /** Drops `token` after a 401, unless another request has renewed it already. */
  invalidate(token: string): void {
    if (this.held?.token === token) this.held = undefined;
  }

  private renew(signal: AbortSignal | undefined): Promise<Held> {
    this.pending ??= this.request(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async request(signal: AbortSignal | undefined): Promise<Held> {
    const { auth } = this;
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope !== undefined) body.set('scope', auth.scope);
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
    this.fetched++;
    const response = await this.fetch(auth.tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new TokenError(`the OAuth2 token endpoint answered HTTP ${response.status}${response.status === 401 ? ' (check the client id and secret)' : ''}`);
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new TokenError('the OAuth2 token endpoint answered a body that is not JSON');
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') throw new TokenError('the OAuth2 token endpoint answered no access_token');
    const lifetimeMs = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in * 1000 : Number.POSITIVE_INFINITY;
    // A token that lives shorter than the margin is renewed halfway instead of on every request.
    const margin = Math.min(auth.refreshBeforeMs, lifetimeMs / 2);
    this.held = { token: parsed.access_token, renewAt: this.clock.now() + lifetimeMs - margin };
    return this.held;
  }
}

/**
 * withOAuth2: `fetch` with the token as a Bearer Authorization on requests to `origin` (never
 * to another origin a redirect leads to). A 401 renews the token and sends once more —
 * after `beforeResend`, which takes the resend's place in the rate limit, since the server
 * counts both.
 */
export function withOAuth2(fetch: FetchFn, token: OAuth2Token, origin: string, beforeResend: (signal: AbortSignal | undefined) => Promise<void>): FetchFn {
  return async (input, init) => {
    if (new URL(input).origin !== origin) return fetch(input, init);
    const signal = init.signal ?? undefined;
    const send = async (): Promise<{ response: Response; used: string }> => {
      const used = await token.current(signal);
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${used}`);
      return { response: await fetch(input, { ...init, headers }), used };
    };
    const first = await send();
    if (first.response.status !== 401) return first.response;
    void first.response.body?.cancel().catch(() => {});
    token.invalidate(first.used);
    await beforeResend(signal);
    return (await send()).response;
  };
}
