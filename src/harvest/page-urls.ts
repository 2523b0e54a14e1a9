import type { HarvestConfig } from './config.js';
import { RefusedError } from './transport.js';

/**
 * The URL of page `index` (from 0) for offset and page pagination, `pageSize` records a
 * page: the size the server serves, once the first page has shown it (see PageSizes), else
 * `--page-size`. It is also the `{limit}` asked for, so a server that caps its pages is
 * asked for what it gives.
 */
export function urlForIndex(config: HarvestConfig, index: number, pageSize = config.pageSize): string {
  return config.template.fill({ offset: index * pageSize, limit: pageSize, page: config.firstPage + index, cursor: '' });
}

/** The first page's URL for cursor and link pagination: the template with an empty cursor. */
export function firstUrl(config: HarvestConfig): string {
  return urlForIndex(config, 0);
}

/** Whether a next link or a redirect may lead to `origin`: the template's own, or one given with --allow-origin. */
export function mayLeadTo(config: HarvestConfig, origin: string): boolean {
  return origin === new URL(firstUrl(config)).origin || config.allowOrigins.has(origin);
}

/**
 * nextUrlOf: where a `next` value leads. With `{cursor}` in the template, the value is a
 * cursor put into it — whatever it looks like (`/abc+=` is a base64 cursor, not a path) —
 * unless it is an absolute http(s) URL. Without `{cursor}` (link pagination, or a body
 * naming the next URL), it is a URL: absolute, or a path or query relative to the page
 * (anything else is a cursor with nowhere to go, refused). A URL is followed
 * if it stays on the template's origin or one allowed with --allow-origin, and never from
 * https down to http. Throws RefusedError (the harvest stops there) for a link it must not
 * follow.
 */
export function nextUrlOf(config: HarvestConfig, next: string, pageUrl: string): string {
  const takesCursor = config.template.placeholders.has('cursor');
  if (takesCursor && !/^https?:\/\//i.test(next)) return config.template.fill({ cursor: next, limit: config.pageSize, offset: 0, page: config.firstPage });
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(next) && !next.startsWith('/') && !next.startsWith('?')) {
    throw new RefusedError(`--next gave a cursor, but the URL template has no {cursor} to put it in`);
  }
  const target = new URL(next, pageUrl);
  const from = new URL(pageUrl);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new RefusedError(`next link to a ${target.protocol} URL refused: only http and https are fetched`);
  if (from.protocol === 'https:' && target.protocol === 'http:') throw new RefusedError('next link from https to http refused');
  if (target.username !== '' || target.password !== '') throw new RefusedError('next link with credentials in the URL refused');
  if (!mayLeadTo(config, target.origin)) throw new RefusedError(`next link to another origin (${target.origin}) refused; allow it with --allow-origin ${target.origin}`);
  return target.href;
}
