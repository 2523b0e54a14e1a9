import { recordAt, recordsBetween } from './dataset.js';

/** An answer before it is written: status, headers and a JSON-able body. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface DataContext {
  seed: number;
  /** Records in the data set. */
  total: number;
  defaultPageSize: number;
  maxPageSize: number;
}

/**
 * `GET /records?offset=0&limit=20` — PokeAPI's shape: `{ count, next, previous, results }`,
 * with `next` and `previous` as absolute URLs (null at the ends).
 */
export function offsetPage(url: URL, ctx: DataContext): Reply {
  const offset = intParam(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(url, 'limit', ctx.defaultPageSize, 1, ctx.maxPageSize);
  if (typeof offset === 'string') return badRequest(offset);
  if (typeof limit === 'string') return badRequest(limit);
  const end = Math.min(ctx.total, offset + limit);
  const at = (o: number): string => withParams(url, { offset: String(o), limit: String(limit) });
  return ok({
    count: ctx.total,
    next: end < ctx.total ? at(end) : null,
    previous: offset > 0 ? at(Math.max(0, offset - limit)) : null,
    results: recordsBetween(ctx.seed, Math.min(offset, ctx.total), end),
  });
}

/** `GET /records/pages?page=1&per_page=20` — `{ page, per_page, total, total_pages, data }`; a page past the end is empty. */
export function numberedPage(url: URL, ctx: DataContext): Reply {
  const page = intParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  const perPage = intParam(url, 'per_page', ctx.defaultPageSize, 1, ctx.maxPageSize);
  if (typeof page === 'string') return badRequest(page);
  if (typeof perPage === 'string') return badRequest(perPage);
  const from = Math.min(ctx.total, (page - 1) * perPage);
  return ok({
    page,
    per_page: perPage,
    total: ctx.total,
    total_pages: Math.ceil(ctx.total / perPage),
    data: recordsBetween(ctx.seed, from, Math.min(ctx.total, from + perPage)),
  });
}

/** `GET /records/cursor?cursor=…&limit=20` — `{ data, next_cursor }`; the cursor is opaque and checked, null at the end. */
export function cursorPage(url: URL, ctx: DataContext): Reply {
  const limit = intParam(url, 'limit', ctx.defaultPageSize, 1, ctx.maxPageSize);
  if (typeof limit === 'string') return badRequest(limit);
  const raw = url.searchParams.get('cursor');
  const offset = raw === null || raw === '' ? 0 : decodeCursor(raw, ctx.seed);
  if (offset === undefined || offset > ctx.total) return badRequest('cursor is not one this API issued');
  const end = Math.min(ctx.total, offset + limit);
  return ok({ data: recordsBetween(ctx.seed, offset, end), next_cursor: end < ctx.total ? encodeCursor(end, ctx.seed) : null });
}

/**
 * `GET /records/link?page=1&per_page=20` — GitHub's shape: a bare JSON array, the way on in
 * an RFC 8288 `Link` header (`rel="next"`, `"prev"`, `"first"`, `"last"`), and `X-Total-Count`.
 */
export function linkPage(url: URL, ctx: DataContext): Reply {
  const page = intParam(url, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  const perPage = intParam(url, 'per_page', ctx.defaultPageSize, 1, ctx.maxPageSize);
  if (typeof page === 'string') return badRequest(page);
  if (typeof perPage === 'string') return badRequest(perPage);
  const last = Math.max(1, Math.ceil(ctx.total / perPage));
  const at = (p: number): string => withParams(url, { page: String(p), per_page: String(perPage) });
  const links: string[] = [];
  if (page < last) links.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  if (page > 1) links.push(`<${at(1)}>; rel="first"`, `<${at(Math.min(page - 1, last))}>; rel="prev"`);
  const from = Math.min(ctx.total, (page - 1) * perPage);
  const headers: Record<string, string> = { 'X-Total-Count': String(ctx.total) };
  if (links.length > 0) headers.Link = links.join(', ');
  return { status: 200, headers, body: recordsBetween(ctx.seed, from, Math.min(ctx.total, from + perPage)) };
}

/** `GET /records/:id` — one record, 404 outside 1..total. */
export function recordById(id: number, ctx: DataContext): Reply {
  if (!Number.isSafeInteger(id) || id < 1 || id > ctx.total) return { status: 404, headers: {}, body: { error: `no record ${id}` } };
  return ok(recordAt(ctx.seed, id));
}

function ok(body: unknown): Reply {
  return { status: 200, headers: {}, body };
}

function badRequest(message: string): Reply {
  return { status: 400, headers: {}, body: { error: message } };
}

/** An integer query parameter within [min, max], its default when absent, or an error message. */
function intParam(url: URL, name: string, fallback: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return `${name} must be a whole number, got ${JSON.stringify(raw)}`;
  const n = Number(raw);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}, got ${n}`;
  return n;
}

function withParams(url: URL, params: Record<string, string>): string {
  const next = new URL(url);
  for (const [k, v] of Object.entries(params)) next.searchParams.set(k, v);
  return next.href;
}

/** Opaque to clients, but checked: a cursor names its data set, so one from another seed is refused. */
function encodeCursor(offset: number, seed: number): string {
  return Buffer.from(JSON.stringify({ o: offset, s: seed })).toString('base64url');
}

function decodeCursor(cursor: string, seed: number): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { o, s } = parsed as { o?: unknown; s?: unknown };
    return s === seed && typeof o === 'number' && Number.isSafeInteger(o) && o >= 0 ? o : undefined;
  } catch {
    return undefined;
  }
}
