import { valueAt } from '../json-path.js';
import { linkNext } from '../page-reader.js';
import type { ResolvedPagination } from './source-config.js';

/** Body keys that hold a next cursor, and the query parameter each is usually sent back in. */
const CURSOR_KEYS: readonly [string, string][] = [
  ['next_cursor', 'cursor'],
  ['nextCursor', 'cursor'],
  ['next_page_token', 'page_token'],
  ['nextPageToken', 'pageToken'],
];
const PAGE_KEYS = ['total_pages', 'totalPages', 'page_count', 'pageCount'];

/**
 * detectPagination: the pagination a first page shows, for a resource that gives none
 * (`"type": "auto"`), in this order — a `Link: rel="next"` header → link; a next cursor in
 * the body (`next_cursor`, `nextCursor`, `next_page_token`, `nextPageToken`) → cursor; a
 * `next` URL whose query steps `offset` → offset, or `page` → page (both then fetched in
 * parallel once a total is known), else a `next` URL followed as it is; `page` with a page
 * count → page; nothing → one page (link pagination with no next). Pure: the caller fetched
 * the page, and keeps the answer in the resource's state so a resume does not guess again.
 */
export function detectPagination(body: unknown, headers: Headers, pageUrl: string, limit: number, maxPages: number | undefined): ResolvedPagination {
  if (linkNext(headers.get('link'), pageUrl) !== undefined) return { type: 'link', nextUrlPath: undefined, limitParam: limitParamOf(pageUrl), limit, maxPages };
  for (const [key, param] of CURSOR_KEYS) {
    const value = valueAt(body, [key]);
    if (typeof value === 'string' || typeof value === 'number') return { type: 'cursor', cursorParam: param, cursorPath: [key], limitParam: limitParamOf(pageUrl), limit, maxPages };
  }
  const next = valueAt(body, ['next']);
  if (typeof next === 'string' && next !== '') {
    let query: URLSearchParams | undefined;
    try {
      query = new URL(next, pageUrl).searchParams;
    } catch {
      query = undefined;
    }
    if (query?.has('offset')) return { type: 'offset', offsetParam: 'offset', limitParam: 'limit', limit, totalPath: undefined, maxPages };
    if (query?.has('page')) return { type: 'page', pageParam: 'page', limitParam: ['per_page', 'page_size', 'limit'].find((p) => query.has(p)), limit, basePage: 1, totalPath: undefined, maxPages };
    return { type: 'link', nextUrlPath: ['next'], limitParam: undefined, limit, maxPages };
  }
  if (typeof valueAt(body, ['page']) === 'number' && PAGE_KEYS.some((k) => typeof valueAt(body, [k]) === 'number')) {
    const limitParam = ['per_page', 'page_size', 'limit'].find((k) => valueAt(body, [k]) !== undefined);
    return { type: 'page', pageParam: 'page', limitParam, limit, basePage: 1, totalPath: undefined, maxPages };
  }
  return { type: 'link', nextUrlPath: undefined, limitParam: undefined, limit, maxPages };
}

/** The page-size parameter the first page's URL was asked with, if it names a usual one. */
function limitParamOf(url: string): string | undefined {
  const query = new URL(url).searchParams;
  return ['per_page', 'page_size', 'limit', 'pageSize'].find((p) => query.has(p));
}
