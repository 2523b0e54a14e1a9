/**
 * A server that counts arrivals exactly, as the quota a user pays for is counted: at the
 * moment each request reaches it. It is the referee of the arrival guarantee (README,
 * "At the server"), so it keeps its own window arithmetic and shares no code with sluice's
 * limiters: a bug shared by both would go unseen.
 *
 * - `counting: 'sliding'` (default): a request is admitted when fewer than `limit` admitted
 *   requests arrived in the `intervalMs` before it (the window `(t − T, t]`); `'fixed'`:
 *   when fewer than `limit` arrived in its window `[kT, (k+1)T)` of this server's clock.
 *   A refused request is answered 429 with `Retry-After` (whole seconds, rounded up, at
 *   least 1) and uses no quota, as on most real servers.
 * - Data: `GET /records?offset=&limit=` → `{ count, results }` over `records` records (the
 *   embedded mock's offset shape, so `sluice harvest` reads it with its defaults); any other
 *   path answers `{ ok: true }`. `/stats` is free: never counted, never refused.
 * - Hostile, on request: `maxPageSize` caps a page whatever `limit` asks; `headers: 'ietf'`
 *   states the limit (`RateLimit-Policy`, `RateLimit`) and `lie` adds that many to the
 *   `remaining` it states; `stall` holds every `every`-th admitted answer `ms` before
 *   answering (the arrival is still counted when the request arrived).
 *
 * Every arrival is recorded (`performance.now()` when its headers were read, its status),
 * so a test can check any window after the run.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingServerOptions {
  /** Most requests admitted per window. */
  limit: number;
  intervalMs: number;
  /** How the window is kept. Default `'sliding'`. */
  counting?: 'sliding' | 'fixed';
  /** Records behind `/records`. Default 100,000. */
  records?: number;
  /** Largest page `/records` returns, whatever `limit` asks. Default: no cap. */
  maxPageSize?: number;
  /** `'ietf'` states the limit in `RateLimit-Policy` / `RateLimit` headers. Default `'none'`. */
  headers?: 'none' | 'ietf';
  /** Added to the `remaining` the headers state (a server whose count disagrees with ours). Default 0. */
  lie?: number;
  /** Every `every`-th admitted answer is held `ms` before it is sent. Default: none. */
  stall?: { every: number; ms: number };
}

export interface Arrival {
  /** `performance.now()` when the request's headers had been read. */
  at: number;
  status: number;
  /** The request target: path and query. */
  path: string;
}

export interface CountingServer {
  readonly url: string;
  /** Every counted request in order of arrival (`/stats` is not counted). */
  readonly arrivals: readonly Arrival[];
  /** Counts so far: requests, admitted (2xx), refused (429). */
  stats(): { requests: number; admitted: number; refused: number };
  /** Forgets every arrival and empties the window. */
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingServer(options: CountingServerOptions): Promise<CountingServer> {
  const { limit, intervalMs } = options;
  if (!(limit >= 1 && intervalMs > 0)) throw new RangeError('limit must be >= 1 and intervalMs > 0');
  const counting = options.counting ?? 'sliding';
  const records = options.records ?? 100_000;
  let arrivals: Arrival[] = [];
  /** Arrival times of the admitted requests still in the window (sliding), oldest first. */
  let window: number[] = [];
  let fixed = { index: Number.NEGATIVE_INFINITY, used: 0 };
  let admittedCount = 0;

  /** Admits a request arriving at `at`: 0, or the ms until it would have fitted. */
  function admit(at: number): number {
    if (counting === 'fixed') {
      const index = Math.floor(at / intervalMs);
      if (index !== fixed.index) fixed = { index, used: 0 };
      if (fixed.used < limit) {
        fixed.used++;
        return 0;
      }
      return (index + 1) * intervalMs - at;
    }
    let drop = 0;
    while (drop < window.length && at - window[drop]! >= intervalMs) drop++;
    if (drop > 0) window = window.slice(drop);
    if (window.length < limit) {
      window.push(at);
      return 0;
    }
    return window[window.length - limit]! + intervalMs - at;
  }

  function remaining(at: number): { remaining: number; resetS: number } {
    if (counting === 'fixed') {
      const index = Math.floor(at / intervalMs);
      const used = index === fixed.index ? fixed.used : 0;
      return { remaining: limit - used, resetS: Math.ceil(((index + 1) * intervalMs - at) / 1000) };
    }
    const live = window.filter((t) => at - t < intervalMs);
    return { remaining: limit - live.length, resetS: live.length === 0 ? 0 : Math.ceil((live[0]! + intervalMs - at) / 1000) };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const at = performance.now();
    const url = new URL(req.url ?? '/', 'http://counting.test');
    if (url.pathname === '/stats') {
      send(res, 200, { requests: arrivals.length, admitted: admittedCount, refused: arrivals.length - admittedCount }, {});
      return;
    }
    const waitMs = admit(at);
    const status = waitMs === 0 ? 200 : 429;
    arrivals.push({ at, status, path: url.pathname + url.search });
    const headers: Record<string, string> = {};
    if (options.headers === 'ietf') {
      const { remaining: left, resetS } = remaining(at);
      headers['ratelimit-policy'] = `"default";q=${limit};w=${Math.max(1, Math.round(intervalMs / 1000))}`;
      headers.ratelimit = `"default";r=${Math.max(0, left + (options.lie ?? 0))};t=${resetS}`;
    }
    if (status === 429) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
      send(res, 429, { error: 'rate limited' }, headers);
      return;
    }
    admittedCount++;
    const body = url.pathname === '/records' ? page(url) : { ok: true };
    const stall = options.stall;
    if (stall !== undefined && admittedCount % stall.every === 0) setTimeout(() => send(res, 200, body, headers), stall.ms);
    else send(res, 200, body, headers);
  }

  function page(url: URL): { count: number; results: { id: number }[] } {
    const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
    let size = Math.max(0, Number(url.searchParams.get('limit') ?? 20) || 20);
    if (options.maxPageSize !== undefined) size = Math.min(size, options.maxPageSize);
    const results: { id: number }[] = [];
    for (let i = offset; i < Math.min(records, offset + size); i++) results.push({ id: i + 1 });
    return { count: records, results };
  }

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get arrivals() {
      return arrivals;
    },
    stats: () => ({ requests: arrivals.length, admitted: admittedCount, refused: arrivals.length - admittedCount }),
    reset() {
      arrivals = [];
      window = [];
      fixed = { index: Number.NEGATIVE_INFINITY, used: 0 };
      admittedCount = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The most arrivals (of those `keep` selects) in any window `[t, t + windowMs)`. */
export function mostInWindow(arrivals: readonly Arrival[], windowMs: number, keep: (a: Arrival) => boolean = () => true): number {
  const times = arrivals.filter(keep).map((a) => a.at);
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}
