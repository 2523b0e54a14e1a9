import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatCompletion, completionTokensFor, parseChatRequest, rateLimitError } from './chat.js';
import { pickFault, type FaultKind } from './faults.js';
import { rateLimitHeaders, retryAfterHeaders, type HeaderContext, type HeaderDialect } from './headers.js';
import { parseLatency, type LatencyInput, type LatencyModel } from './latency.js';
import { LimitPartitions, type Admission } from './limits.js';
import { resolveOptions, type MockApiOptions, type ResolvedOptions } from './options.js';
import { cursorPage, linkPage, numberedPage, offsetPage, recordById, type DataContext, type Reply } from './pagination.js';
import { mixSeed, seededRandom, type Random } from './random.js';
import { StatsRecorder, type Endpoint, type MockStats } from './stats.js';
import { TreeData } from './tree.js';
import { MockOAuth } from './oauth.js';
import { ConfigError } from '../../core/errors.js';

/** A running mock API. */
export interface MockApi {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Full URLs of each endpoint, for printing and for tests. */
  readonly endpoints: Readonly<Record<'offset' | 'pages' | 'cursor' | 'link' | 'record' | 'repos' | 'token' | 'chat' | 'stats' | 'reset' | 'change', string>>;
  /** Stops listening and drops every connection, hung requests included. */
  close(): Promise<void>;
  stats(): MockStats;
  /** Clears counters, limits, the latency schedule's start and the random streams: as good as new. */
  reset(): void;
  /** Replaces the latency; a schedule starts over from now. Throws ConfigError on a bad value. */
  setLatency(latency: LatencyInput): void;
  /** Changes about `fraction` of the tree's issues now (a new `updated_at`); returns how many. Also `POST /change?fraction=0.01`. */
  changeRecords(fraction: number): number;
  /** Ends every OAuth2 token at once: the next data request with one answers 401. */
  revokeTokens(): void;
  /** OAuth2 tokens issued so far. */
  tokensIssued(): number;
}

/** Largest chat request body read; beyond it the mock answers 413 as a real API would. */
const MAX_BODY_BYTES = 1 << 20;
const SERVER_ERRORS = [500, 502, 503, 504];

/**
 * startMockApi starts an HTTP API on 127.0.0.1 that behaves like a real rate-limited one:
 * a deterministic data set behind four pagination styles, exact sliding-window limits that
 * answer 429 with the chosen header dialect, latency from a distribution or schedule,
 * injected faults, an OpenAI-compatible chat endpoint with RPM and TPM, and `/stats` that
 * counts every request that broke a limit. See docs/http-mock.md.
 */
export async function startMockApi(options: MockApiOptions = {}): Promise<MockApi> {
  const config = resolveOptions(options);
  const mock = new MockHandler(config);
  const server = createServer((req, res) => {
    mock.handle(req, res).catch(() => {
      // A handler bug must not take the mock down: answer 500 if we still can.
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await listen(server, config.port);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  mock.base = url;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    endpoints: {
      offset: `${url}/records?offset=0&limit=${config.pageSize}`,
      pages: `${url}/records/pages?page=1&per_page=${config.pageSize}`,
      cursor: `${url}/records/cursor?limit=${config.pageSize}`,
      link: `${url}/records/link?page=1&per_page=${config.pageSize}`,
      record: `${url}/records/1`,
      repos: `${url}/repos?page=1&per_page=30`,
      token: `${url}/oauth/token`,
      chat: `${url}/v1/chat/completions`,
      stats: `${url}/stats`,
      reset: `${url}/reset`,
      change: `${url}/change?fraction=0.01`,
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    stats: () => mock.stats.snapshot(),
    reset: () => mock.reset(),
    setLatency: (latency) => mock.setLatency(latency),
    changeRecords: (fraction) => mock.changeRecords(fraction),
    revokeTokens: () => mock.oauth?.revoke(),
    tokensIssued: () => mock.oauth?.issuedCount ?? 0,
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The request handling, apart from the server's lifecycle. */
class MockHandler {
  base = 'http://127.0.0.1';
  readonly stats: StatsRecorder;
  private readonly data: DataContext;
  private readonly tree: TreeData;
  readonly oauth: MockOAuth | undefined;
  private limits: LimitPartitions;
  private chatLimits: LimitPartitions;
  private latency: LatencyModel;
  private scheduleStart: number;
  private latencyRandom!: Random;
  private faultRandom!: Random;
  private chatRandom!: Random;
  private chatIds = 0;
  /** The clock's reading when the mock started: with startEpochMs it maps clock time to wall time. */
  private readonly clockAtStart: number;

  constructor(private readonly config: ResolvedOptions) {
    const now = (): number => config.clock.now();
    this.stats = new StatsRecorder(now);
    this.data = { seed: config.seed, total: config.records, defaultPageSize: config.pageSize, maxPageSize: config.maxPageSize };
    this.tree = new TreeData(config.seed, config.tree);
    this.oauth = config.oauth && new MockOAuth(config.oauth);
    this.limits = new LimitPartitions(config.limits, config.graceMs);
    this.chatLimits = new LimitPartitions(config.chat.limits, config.graceMs);
    this.latency = config.latency;
    this.scheduleStart = now();
    this.clockAtStart = now();
    this.seedRandoms();
  }

  reset(): void {
    this.stats.clear();
    this.limits.clear();
    this.chatLimits.clear();
    this.scheduleStart = this.config.clock.now();
    this.chatIds = 0;
    this.tree.clear();
    this.oauth?.revoke();
    this.seedRandoms();
  }

  changeRecords(fraction: number): number {
    if (!(fraction >= 0 && fraction <= 1)) throw new ConfigError('fraction', fraction, 'must be between 0 and 1');
    return this.tree.change(fraction, this.headerContext(this.config.clock.now()).epochMs);
  }

  setLatency(input: LatencyInput): void {
    this.latency = parseLatency(input, this.config.timeScale);
    this.scheduleStart = this.config.clock.now();
  }

  /** Separate streams, so turning faults on does not change the latencies a test sees. */
  private seedRandoms(): void {
    this.latencyRandom = seededRandom(mixSeed(this.config.seed, 1));
    this.faultRandom = seededRandom(mixSeed(this.config.seed, 2));
    this.chatRandom = seededRandom(mixSeed(this.config.seed, 3));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const endpoint = routeOf(url.pathname);
    this.stats.endpoint(endpoint);
    const method = req.method ?? 'GET';
    if (endpoint === 'stats') return this.send(res, 200, {}, this.stats.snapshot(), undefined, false);
    if (endpoint === 'reset') {
      if (method !== 'POST') return this.send(res, 405, { Allow: 'POST' }, { error: 'use POST /reset' }, undefined, false);
      this.reset();
      return this.send(res, 200, {}, { reset: true }, undefined, false);
    }
    if (endpoint === 'change') {
      if (method !== 'POST') return this.send(res, 405, { Allow: 'POST' }, { error: 'use POST /change?fraction=0.01' }, undefined, false);
      const fraction = Number(url.searchParams.get('fraction') ?? '0.01');
      if (!(fraction >= 0 && fraction <= 1)) return this.send(res, 400, {}, { error: 'fraction must be between 0 and 1' }, undefined, false);
      return this.send(res, 200, {}, { changed: this.changeRecords(fraction) }, undefined, false);
    }
    this.stats.inFlight++;
    res.once('close', () => this.stats.inFlight--);
    if (endpoint === 'other') return this.send(res, 404, {}, { error: `no route ${url.pathname}` });
    if (endpoint === 'token') {
      if (this.oauth === undefined) return this.send(res, 404, {}, { error: 'this mock has no OAuth2 endpoint (start it with oauth)' });
      if (method !== 'POST') return this.send(res, 405, { Allow: 'POST' }, { error: 'use POST' });
      const form = (await readBody(req)) ?? '';
      const reply = this.oauth.token(req, form, this.config.clock.now());
      return this.send(res, reply.status, reply.headers, reply.body);
    }
    if (this.oauth && !this.oauth.admits(req, this.config.clock.now())) {
      return this.send(res, 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }, { error: 'a live OAuth2 token is required' });
    }
    if (endpoint === 'chat') {
      if (method !== 'POST') return this.send(res, 405, { Allow: 'POST' }, { error: 'use POST' });
      return this.chat(req, res);
    }
    let body: unknown;
    if (url.pathname === SEARCH_PATH) {
      // The tree's one POST route: its query is a JSON body, as search and GraphQL APIs take theirs.
      if (method !== 'POST') return this.send(res, 405, { Allow: 'POST' }, { error: 'use POST with a JSON body such as { "repo": "repo-1" }' });
      const text = await readBody(req);
      try {
        body = JSON.parse(text ?? '') as unknown;
      } catch {
        return this.send(res, 400, {}, { error: 'the body must be JSON, such as { "repo": "repo-1" }' });
      }
    } else if (method !== 'GET' && method !== 'HEAD') return this.send(res, 405, { Allow: 'GET' }, { error: 'use GET' });
    const now = this.config.clock.now();
    const cost = this.config.costs.find((c) => c.pattern.test(url.pathname))?.cost ?? 1;
    const admission = this.config.limits.length > 0 ? this.limits.admit(this.keyOf(req), now, cost === 1 ? undefined : this.config.limits.map(() => cost)) : undefined;
    const headers = admission ? rateLimitHeaders(this.config.headers, admission.views, this.headerContext(now)) : {};
    if (admission && !admission.admitted) return this.refuse(res, this.config.headers, admission, headers, { error: 'rate limit exceeded' });
    await this.answer(req, res, now, headers, () => this.dataReply(endpoint, url, body));
  }

  private dataReply(endpoint: Endpoint, url: URL, body: unknown): Reply {
    switch (endpoint) {
      case 'offset':
        return offsetPage(url, this.data);
      case 'pages':
        return numberedPage(url, this.data);
      case 'cursor':
        return cursorPage(url, this.data);
      case 'link':
        return linkPage(url, this.data);
      case 'tree':
        return this.tree.reply(url, body) ?? { status: 404, headers: {}, body: { error: `no route ${url.pathname}` } };
      default:
        return recordById(Number(url.pathname.slice('/records/'.length)), this.data);
    }
  }

  private async chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (text === undefined) return this.send(res, 413, {}, { error: { message: 'request body too large', type: 'invalid_request_error' } });
    const request = parseChatRequest(text, this.config.chat.defaultMaxTokens);
    if (typeof request === 'string') return this.send(res, 400, {}, { error: { message: request, type: 'invalid_request_error', param: null, code: null } });
    // The request arrives when its body has: that is when it is counted.
    const now = this.config.clock.now();
    const completion = completionTokensFor(request, this.chatRandom);
    const estimate = request.promptTokens + request.maxTokens;
    const actual = request.promptTokens + completion;
    const admission = this.chatLimits.admit(this.keyOf(req), now, [1, this.config.chat.admit === 'usage' ? actual : estimate], [1, actual]);
    const dialect: HeaderDialect = this.config.chat.headers;
    const ctx = this.headerContext(now);
    const headers = {
      ...rateLimitHeaders(dialect, admission.views.slice(0, 1), ctx, 'requests'),
      ...rateLimitHeaders(dialect, admission.views.slice(1), ctx, 'tokens'),
    };
    if (!admission.admitted) {
      const kind = admission.violated.includes('chat:requests') ? 'requests' : 'tokens';
      const detail = kind === 'requests' ? `limit ${admission.views[0]!.limit}` : `limit ${admission.views[1]!.limit}, requested ${estimate}`;
      return this.refuse(res, dialect, admission, headers, rateLimitError(kind, detail));
    }
    this.stats.tokens(request.promptTokens, completion);
    const id = ++this.chatIds;
    const created = Math.floor(ctx.epochMs / 1000);
    await this.answer(req, res, now, headers, () => ({ status: 200, headers: {}, body: chatCompletion(request, completion, id, created) }));
  }

  /** A 429 for a request that arrived while a limit was full: counted as a violation. */
  private refuse(res: ServerResponse, dialect: HeaderDialect, admission: Admission, headers: Record<string, string>, body: unknown): void {
    this.stats.violation(admission.violated);
    this.send(res, 429, { ...headers, ...retryAfterHeaders(dialect, admission.waitMs) }, body);
  }

  /** An admitted request: maybe a fault, then the latency, then the reply. */
  private async answer(req: IncomingMessage, res: ServerResponse, arrived: number, headers: Record<string, string>, reply: () => Reply): Promise<void> {
    const fault = pickFault(this.faultRandom(), this.config.faults);
    const serverError = fault === '5xx' ? SERVER_ERRORS[Math.floor(this.faultRandom() * SERVER_ERRORS.length)]! : 0;
    const delay = this.latency.sample(arrived - this.scheduleStart, this.latencyRandom);
    if (fault) this.stats.fault(fault);
    if (fault === 'hang') return; // never answered; close() drops the connection
    if (!this.latency.instant && delay > 0) {
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      res.once('close', onClose);
      try {
        await this.config.clock.sleep(delay, gone.signal);
      } catch {
        return; // the client gave up first
      } finally {
        res.off('close', onClose);
      }
    }
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (serverError) return this.send(res, serverError, headers, { error: 'injected server error' });
    const { status, headers: own, body } = reply();
    this.send(res, status, { ...headers, ...own }, body, fault);
  }

  private send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown, fault?: FaultKind, counted = true): void {
    if (res.destroyed) return;
    let bytes = Buffer.from(JSON.stringify(body));
    if (fault === 'malformed') bytes = bytes.subarray(0, Math.max(1, bytes.length >> 1));
    if (counted) this.stats.status(status);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), ...headers });
    if (fault === 'truncated') {
      // Promise the whole body, deliver half, then drop the connection.
      res.write(bytes.subarray(0, bytes.length >> 1), () => res.destroy());
      return;
    }
    res.end(res.req.method === 'HEAD' ? undefined : bytes);
  }

  private keyOf(req: IncomingMessage): string {
    if (this.config.limitBy === 'global') return 'global';
    const value = req.headers[this.config.keyHeader];
    return (Array.isArray(value) ? value[0] : value) ?? 'anonymous';
  }

  private headerContext(now: number): HeaderContext {
    return { epochMs: this.config.startEpochMs + (now - this.clockAtStart), xReset: this.config.xReset };
  }
}

function routeOf(path: string): Endpoint {
  switch (path) {
    case '/records':
      return 'offset';
    case '/records/pages':
      return 'pages';
    case '/records/cursor':
      return 'cursor';
    case '/records/link':
      return 'link';
    case '/v1/chat/completions':
      return 'chat';
    case '/stats':
      return 'stats';
    case '/reset':
      return 'reset';
    case '/change':
      return 'change';
    case '/oauth/token':
      return 'token';
    default:
      if (path === '/repos' || path.startsWith('/repos/') || path === SEARCH_PATH) return 'tree';
      return /^\/records\/\d+$/.test(path) ? 'record' : 'other';
  }
}

/** The request body as text, or undefined past MAX_BODY_BYTES. */
/** The tree's search route: `POST /search/issues` with `{ "repo": "repo-1", "since"?: ISO date }`, paged like the rest. */
const SEARCH_PATH = '/search/issues';

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
