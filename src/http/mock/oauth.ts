import type { IncomingMessage } from 'node:http';
import type { Reply } from './pagination.js';

export interface MockOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** How long a token lives, real ms. */
  tokenTtlMs: number;
}

/**
 * MockOAuth: an OAuth2 client-credentials token endpoint (`POST /oauth/token`, RFC 6749
 * §4.4, client authenticated by HTTP Basic or in the form) whose tokens expire after
 * `tokenTtlMs`; with it configured, every data endpoint answers 401 without a live token.
 * `revoke()` ends every token at once, as a server that rotates its keys would.
 */
export class MockOAuth {
  /** Live tokens → clock time they expire at; expired ones are dropped as they are met. */
  private readonly tokens = new Map<string, number>();
  private issued = 0;

  constructor(private readonly config: MockOAuthConfig) {}

  /** Answers a token request whose form body is `form`. */
  token(req: IncomingMessage, form: string, now: number): Reply {
    const params = new URLSearchParams(form);
    if (params.get('grant_type') !== 'client_credentials') return { status: 400, headers: {}, body: { error: 'unsupported_grant_type' } };
    const [id, secret] = clientOf(req, params);
    if (id !== this.config.clientId || secret !== this.config.clientSecret) return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="token"' }, body: { error: 'invalid_client' } };
    this.sweep(now);
    const token = `mock-token-${++this.issued}-${Math.floor(now)}`;
    this.tokens.set(token, now + this.config.tokenTtlMs);
    return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { access_token: token, token_type: 'Bearer', expires_in: this.config.tokenTtlMs / 1000 } };
  }

  /** Whether the request carries a live token. */
  admits(req: IncomingMessage, now: number): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const expires = m ? this.tokens.get(m[1]!) : undefined;
    return expires !== undefined && now < expires;
  }

  revoke(): void {
    this.tokens.clear();
  }

  /** Tokens issued since start: how often a client asked. */
  get issuedCount(): number {
    return this.issued;
  }

  private sweep(now: number): void {
    for (const [token, expires] of this.tokens) if (expires <= now) this.tokens.delete(token);
  }
}

function clientOf(req: IncomingMessage, params: URLSearchParams): [string | null, string | null] {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (m) {
    const [id = '', secret = ''] = Buffer.from(m[1]!, 'base64').toString('utf8').split(/:(.*)/s, 2);
    return [decodeURIComponent(id), decodeURIComponent(secret)];
  }
  return [params.get('client_id'), params.get('client_secret')];
}
