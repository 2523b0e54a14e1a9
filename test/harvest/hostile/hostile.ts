// The hostile-server suite's tools: a small HTTP server on 127.0.0.1 (port 0) whose every
// answer a test writes, and a harvest run against it in this process through the CLI's own
// entry (runHarvestCommand), so each case sees the exit code, the last lines and every file
// the harvest leaves — in milliseconds, not a child process's second.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after } from 'node:test';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { memoryStream, tempDir } from '../helpers.js';

/** An answer: status (200), headers, and a body given as a value (sent as JSON), a string or bytes. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: string | Uint8Array;
}

/** What the server does with a request: a reply, or `'handled'` when the handler wrote to `res` itself (stalls, resets). */
export type Handler = (url: URL, n: number, req: IncomingMessage, res: ServerResponse) => Reply | 'handled';

export interface HostileServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Each request's URL (path and query), in order. */
  requests: string[];
  /** Each request's headers. */
  headers: IncomingMessage['headers'][];
}

const open = new Set<ReturnType<typeof createServer>>();
after(async () => {
  for (const server of open) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** hostile: a server on 127.0.0.1, port 0, answering with `handler`; closed when the test file ends. */
export async function hostile(handler: Handler): Promise<HostileServer> {
  const requests: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    headers.push(req.headers);
    const reply = handler(url, requests.length, req, res);
    if (reply === 'handled') return;
    const body = reply.raw ?? (reply.json === undefined ? '' : JSON.stringify(reply.json));
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(body);
  });
  open.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, headers };
}

/** Record `i` (from 0): `{"id":i+1}`. */
export function rec(i: number): { id: number } {
  return { id: i + 1 };
}

/** Records `from` up to (not including) `to`, clipped to `[0, total)`. */
export function recs(from: number, to: number, total = Number.POSITIVE_INFINITY): { id: number }[] {
  const out = [];
  for (let i = Math.max(0, from); i < Math.min(to, total); i++) out.push(rec(i));
  return out;
}

/** The ids in an NDJSON text, in order; a line that is not a record is NaN. */
export function idsOf(text: string): number[] {
  const idOf = (line: string): number => {
    try {
      return (JSON.parse(line) as { id: number }).id;
    } catch {
      return Number.NaN;
    }
  };
  return text === '' ? [] : text.trimEnd().split('\n').map(idOf);
}

/** 1 … n */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

export interface Harvested {
  code: number;
  stdout: string;
  stderr: string;
  /** The output's text ('' when there is none). */
  text: string;
  /** The ids of the records in the output, in order. */
  ids: number[];
  /** The state file's text, or undefined. */
  state: string | undefined;
  /** The failed-pages file's text, or undefined. */
  failed: string | undefined;
  /** The lines the CLI printed that start with `sluice harvest: incomplete:`. */
  incomplete: string[];
}

/**
 * harvest: `sluice harvest <args> --out <out> --quiet` in this process. `out` defaults to a
 * new file in a new temp dir; give the same one to resume. `timeoutMs` aborts a run that
 * would not end (the case then fails on its exit code, 130, not on the test runner's clock).
 */
export async function harvest(args: string[], options: { out?: string | null; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Harvested & { out: string | undefined }> {
  const out = options.out === null ? undefined : (options.out ?? join(tempDir(), 'out.ndjson'));
  const stdout = memoryStream();
  const stderr = memoryStream();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20_000);
  const code = await runHarvestCommand([...args, ...(out === undefined ? [] : ['--out', out]), '--quiet'], {
    stdout,
    stderr,
    env: options.env ?? {},
    signal: controller.signal,
  });
  clearTimeout(timer);
  const read = (path: string | undefined): string | undefined => (path !== undefined && existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined);
  const text = out === undefined ? stdout.text() : (read(out) ?? '');
  const err = stderr.text();
  return {
    code,
    out,
    stdout: stdout.text(),
    stderr: err,
    text,
    ids: idsOf(text),
    state: read(out && `${out}.state.json`),
    failed: read(out && `${out}.failed.ndjson`),
    incomplete: err.split('\n').filter((line) => line.startsWith('sluice harvest: incomplete:')),
  };
}

/** The offset API most cases start from: `?offset&limit` → `{ count, results }` over `total` records. */
export function offsetApi(total: number, tweak?: (offset: number, limit: number, n: number) => Reply | undefined): Handler {
  return (url, n) => {
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 10);
    return tweak?.(offset, limit, n) ?? { json: { count: total, results: recs(offset, offset + limit, total) } };
  };
}
