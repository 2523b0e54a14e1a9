import type { Clock } from '../core/clock.js';
import { TimeoutError } from '../core/errors.js';
import type { FetchFn } from '../http/fetch-options.js';
import { decodeBody } from './body-text.js';
import type { HarvestMonitor } from './monitor.js';

/** A request harvest will not make (an unsafe redirect, an oversized body): never retried, the page fails with this reason. */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

/** A 2xx body that is cut short or not JSON: retried like a network error (the mock's `truncated` and `malformed` faults). */
export class BadBodyError extends Error {
  override name = 'BadBodyError';
}

/** What the transport learned of a response that sluiceFetch hands back without a body. */
export interface ReadBody {
  body: unknown;
  /** The body's text, from which records are written as sent (see raw-json.ts). */
  text: string;
  /** The URL that answered, after redirects: relative next links resolve against it. */
  url: string;
}

export interface TransportOptions {
  fetch: FetchFn;
  clock: Clock;
  monitor: HarvestMonitor;
  maxBodyBytes: number;
  maxRedirects: number;
  /** Header names the caller added (--header): all of them are dropped on a redirect to another origin. */
  userHeaders: readonly string[];
  /** Whether a redirect may lead to this origin: the rule for next links (the template's origin, and --allow-origin). */
  mayFollow: (origin: string) => boolean;
  /** Each answered or failed attempt, for adaptive concurrency: latency of the send alone, not of the rate wait. */
  onSample?: ((sample: { rttMs: number; dropped: boolean }) => void) | undefined;
  /** The size of each 2xx body read, for a concurrency bounded by memory. */
  onBody?: ((bytes: number) => void) | undefined;
}

/**
 * harvestTransport: the fetch that sluiceFetch wraps for a harvest. One call is one attempt:
 * it follows redirects itself, so that https → http and non-http targets are refused and
 * headers are dropped when the origin changes; reads a 2xx body whole, within
 * `maxBodyBytes` and under the attempt's signal (so a body that hangs times out); and
 * parses it. The Response it returns carries status and headers only — the parsed body is
 * in `bodies`, keyed by that Response.
 */
export function harvestTransport(options: TransportOptions, bodies: WeakMap<Response, ReadBody>): FetchFn {
  const { clock, monitor } = options;
  return async function transport(input, init) {
    const request = new Request(input, init);
    const signal = init.signal ?? request.signal;
    const started = clock.now();
    monitor.requestStarted(started);
    try {
      // A page's body is JSON text (HarvestConfig.body), sent again on every attempt and redirect that keeps it.
      const body = typeof init.body === 'string' ? init.body : undefined;
      const { response, url } = await follow(options, request, body, signal ?? undefined);
      let read: { body: unknown; text: string } | undefined;
      if (response.status >= 200 && response.status < 300) read = await readJson(response, options.maxBodyBytes, options.onBody);
      else void response.body?.cancel().catch(() => {});
      const now = clock.now();
      monitor.responseReceived(now, response.status, now - started);
      options.onSample?.({ rttMs: now - started, dropped: response.status === 429 || response.status === 503 });
      const bare = new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
      if (read !== undefined) bodies.set(bare, { ...read, url });
      return bare;
    } catch (error) {
      const now = clock.now();
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      monitor.requestFailed(now, now - started, reason.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '[url]'));
      options.onSample?.({ rttMs: now - started, dropped: error instanceof TimeoutError || (signal?.aborted ?? false) });
      throw error;
    }
  };
}

/**
 * Sends the request and follows up to `maxRedirects` redirects under harvest's rules. A
 * POST keeps its method and body through 307 and 308 and becomes a bodiless GET after 301,
 * 302 and 303, as the Fetch standard has browsers do.
 */
async function follow(options: TransportOptions, first: Request, firstBody: string | undefined, signal: AbortSignal | undefined): Promise<{ response: Response; url: string }> {
  let url = new URL(first.url);
  let headers = new Headers(first.headers);
  let method = first.method === 'POST' ? 'POST' : 'GET';
  let body = method === 'POST' ? firstBody : undefined;
  for (let hop = 0; ; hop++) {
    const response = await options.fetch(url.href, { method, headers, ...(body === undefined ? {} : { body }), redirect: 'manual', ...(signal ? { signal } : {}) });
    const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
    if (location === null) return { response, url: url.href };
    void response.body?.cancel().catch(() => {});
    if (hop >= options.maxRedirects) throw new RefusedError(`more than ${options.maxRedirects} redirects`);
    let target: URL;
    try {
      target = new URL(location, url);
    } catch {
      throw new RefusedError('redirect to a malformed URL');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new RefusedError(`redirect to a ${target.protocol} URL refused: only http and https are fetched`);
    if (url.protocol === 'https:' && target.protocol === 'http:') throw new RefusedError('redirect from https to http refused');
    if (target.username !== '' || target.password !== '') throw new RefusedError('redirect to a URL with credentials refused');
    if (!options.mayFollow(target.origin)) throw new RefusedError(`redirect to another origin (${target.origin}) refused; allow it with --allow-origin ${target.origin}`);
    if (target.origin !== url.origin) {
      // Another origin must not see what was meant for this one: credentials, API keys, cookies.
      headers = new Headers(headers);
      for (const name of options.userHeaders) headers.delete(name);
      for (const name of ['authorization', 'proxy-authorization', 'cookie']) headers.delete(name);
    }
    url = target;
    if (method === 'POST' && response.status !== 307 && response.status !== 308) {
      method = 'GET';
      body = undefined;
      headers = new Headers(headers);
      headers.delete('content-type');
    }
  }
}

/** Reads, decodes and parses a JSON body of at most `max` bytes. */
async function readJson(response: Response, max: number, onBody: ((bytes: number) => void) | undefined): Promise<{ body: unknown; text: string }> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    void response.body?.cancel().catch(() => {});
    throw new RefusedError(`response body of ${declared} bytes is over the cap of ${max} (--max-body)`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (error) {
        if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) throw error;
        throw new BadBodyError(`body cut short after ${size} bytes (${error instanceof Error ? error.message : String(error)})`);
      }
      if (step.done) break;
      size += step.value.byteLength;
      if (size > max) {
        void reader.cancel().catch(() => {});
        throw new RefusedError(`response body over the cap of ${max} bytes (--max-body)`);
      }
      chunks.push(step.value);
    }
  }
  onBody?.(size);
  const text = decodeBody(Buffer.concat(chunks, size), response.headers.get('content-type'));
  try {
    return { body: JSON.parse(text) as unknown, text };
  } catch {
    throw new BadBodyError(`body is not JSON (${size} bytes${Number.isFinite(declared) && declared !== size ? ` of ${declared} announced` : ''})`);
  }
}
