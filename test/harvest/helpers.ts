import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHarvestArgs } from '../../src/cli/harvest-args.js';
import type { HarvestConfig } from '../../src/harvest/config.js';
import type { HarvestMonitor } from '../../src/harvest/monitor.js';
import type { FetchFn } from '../../src/http/fetch-options.js';

export const ORIGIN = 'https://api.test';

/** A config as the CLI would build it from these arguments. */
export function configOf(args: string[], env: Record<string, string> = {}): HarvestConfig {
  return parseHarvestArgs(args, env).config;
}

const made: string[] = [];
// Every directory a test made goes when the test process ends.
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(base = tmpdir()): string {
  const dir = mkdtempSync(join(base, 'sluice-harvest-test-'));
  made.push(dir);
  return dir;
}

/** Record `i` (from 0) of the fake data set: small, and the same every time. */
export function record(i: number): { id: number; name: string } {
  return { id: i + 1, name: `r${i + 1}` };
}

export interface FakeApi {
  fetch: FetchFn;
  /** URLs requested, in order. */
  requests: string[];
  /** Headers of each request, lower-case names. */
  headers: Record<string, string>[];
}

type Reply = { status?: number; body?: unknown; headers?: Record<string, string>; raw?: string };

/**
 * fakeApi: an in-process API over `total` records with the mock's shapes — offset
 * (`/records?offset&limit` → { count, results }), page (`/pages?page&per_page` → { total, data }),
 * cursor (`/cursor?cursor&limit` → { data, next_cursor }) and link (`/link?page&per_page`, a bare
 * array and a Link header). `override` answers a URL first (faults, redirects). Answers at once.
 */
export function fakeApi(total: number, override?: (url: URL, n: number) => Reply | undefined): FakeApi {
  const requests: string[] = [];
  const headers: Record<string, string>[] = [];
  const fetch: FetchFn = async (input, init) => {
    const url = new URL(input);
    requests.push(url.href);
    headers.push(Object.fromEntries(new Headers(init?.headers).entries()));
    const reply = override?.(url, requests.length) ?? route(url, total);
    const body = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    return new Response(body === '' ? null : body, { status: reply.status ?? 200, headers: { 'content-type': 'application/json', ...reply.headers } });
  };
  return { fetch, requests, headers };
}

function slice(from: number, count: number, total: number): unknown[] {
  const out = [];
  for (let i = from; i < Math.min(total, from + count); i++) out.push(record(i));
  return out;
}

function route(url: URL, total: number): Reply {
  const q = (name: string, fallback: number): number => Number(url.searchParams.get(name) ?? fallback);
  switch (url.pathname) {
    case '/records':
      return { body: { count: total, results: slice(q('offset', 0), q('limit', 20), total) } };
    case '/pages': {
      const per = q('per_page', 20);
      return { body: { total, data: slice((q('page', 1) - 1) * per, per, total) } };
    }
    case '/nototal':
      return { body: { results: slice(q('offset', 0), q('limit', 20), total) } };
    case '/cursor': {
      const at = url.searchParams.get('cursor') ? Number(Buffer.from(url.searchParams.get('cursor')!, 'base64url').toString()) : 0;
      const limit = q('limit', 20);
      const next = at + limit < total ? Buffer.from(String(at + limit)).toString('base64url') : null;
      return { body: { data: slice(at, limit, total), next_cursor: next } };
    }
    case '/link': {
      const page = q('page', 1);
      const per = q('per_page', 20);
      const more = page * per < total;
      return { body: slice((page - 1) * per, per, total), headers: more ? { link: `<${url.origin}/link?page=${page + 1}&per_page=${per}>; rel="next"` } : {} };
    }
    default:
      return { status: 404, body: { error: 'not found' } };
  }
}

/** The NDJSON an uninterrupted harvest of `count` records writes. */
export function expectedNdjson(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += `${JSON.stringify(record(i))}\n`;
  return out;
}

/** A Writable that keeps what is written, for harvests to stdout. */
export function memoryStream(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString() });
}

/** A monitor that keeps every call, by method name. */
export function recordingMonitor(): HarvestMonitor & { calls: Array<[string, unknown[]]>; count(name: string): number } {
  const calls: Array<[string, unknown[]]> = [];
  const handler: ProxyHandler<object> = {
    get(_target, name) {
      if (name === 'calls') return calls;
      if (name === 'count') return (n: string) => calls.filter(([m]) => m === n).length;
      return (...args: unknown[]) => void calls.push([String(name), args]);
    },
  };
  return new Proxy({}, handler) as HarvestMonitor & { calls: Array<[string, unknown[]]>; count(name: string): number };
}
