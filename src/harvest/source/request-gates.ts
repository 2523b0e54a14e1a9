import type { Clock } from '../../core/clock.js';
import type { FetchFn } from '../../http/fetch-options.js';
import { RateLimiter } from '../../limiters/rate-limiter.js';
import { budgetMatches, budgetWeight } from './parse-budgets.js';
import { OAuth2Token, withOAuth2 } from './oauth2.js';
import type { ClientConfig } from './source-config.js';

/** The client's request path as a source sends it: budgets, then OAuth2, then the fetch. */
export interface SourceFetch {
  fetch: FetchFn;
  /** The OAuth2 token, when the client uses one (its count of token requests is reported). */
  token: OAuth2Token | undefined;
}

/**
 * sourceFetch: `base` with the client's budgets and OAuth2 around it. Each attempt (a retry
 * is one, a redirect hop is one) takes `weight` from every budget whose pattern matches it
 * before it is sent, so a search endpoint's own quota is kept whichever resource asks — the
 * client-wide `rate` is the engine's limiter, shared by every resource. The token endpoint
 * is not rate-limited by the API's budgets.
 */
export function sourceFetch(client: ClientConfig, base: FetchFn, clock: Clock, limiter: RateLimiter | undefined): SourceFetch {
  let fetch = base;
  let token: OAuth2Token | undefined;
  if (client.auth?.type === 'oauth2') {
    token = new OAuth2Token(client.auth, base, clock);
    fetch = withOAuth2(base, token, new URL(client.baseUrl).origin, async (signal) => {
      await limiter?.acquire(signal ? { signal } : {});
    });
  }
  const jitter = client.arrivalJitterMs === undefined ? {} : { arrivalJitter: client.arrivalJitterMs };
  const budgets = client.budgets.map((b) => ({ ...b, limiter: new RateLimiter({ limits: b.rate, clock, ...jitter }) }));
  if (budgets.length === 0) return { fetch, token };
  const inner = fetch;
  const gated: FetchFn = async (input, init) => {
    const { pathname } = new URL(input);
    const method = init.method ?? 'GET';
    for (const b of budgets) {
      if (b.match.some((pattern) => budgetMatches(pattern, method, pathname))) await b.limiter.acquire(budgetWeight(b, method, pathname), init.signal ? { signal: init.signal } : {});
    }
    return inner(input, init);
  };
  return { fetch: gated, token };
}
