import type { HarvestConfig } from './config.js';
import { RefusedError } from './transport.js';

/** The URL of page `index` (from 0) for offset and page pagination. */
export function urlForIndex(config: HarvestConfig, index: number): string {
  return config.template.fill({ offset: index * config.pageSize, limit: config.pageSize, page: config.firstPage + index, cursor: '' });
}

/** The first page's URL for cursor and link pagination: the template with an empty cursor. */
export function firstUrl(config: HarvestConfig): string {
  return urlForIndex(config, 0);
}

/**
 * nextUrlOf: where a `next` value leads. A URL (absolute, or relative to the page) is
 * followed if it stays on the template's origin or one allowed with --allow-origin, and
 * never from https down to http; anything else is a cursor, put into `{cursor}`.
 * Throws RefusedError (the harvest stops there) for a link it must not follow.
 */
export function nextUrlOf(config: HarvestConfig, next: string, pageUrl: string): string {
  const looksLikeUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(next) || next.startsWith('/') || next.startsWith('?');
  if (!looksLikeUrl) {
    if (!config.template.placeholders.has('cursor')) throw new RefusedError(`--next gave a cursor, but the URL template has no {cursor} to put it in`);
    return config.template.fill({ cursor: next, limit: config.pageSize, offset: 0, page: config.firstPage });
  }
  const target = new URL(next, pageUrl);
  const from = new URL(pageUrl);
  const home = new URL(firstUrl(config)).origin;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new RefusedError(`next link to a ${target.protocol} URL refused: only http and https are fetched`);
  if (from.protocol === 'https:' && target.protocol === 'http:') throw new RefusedError('next link from https to http refused');
  if (target.username !== '' || target.password !== '') throw new RefusedError('next link with credentials in the URL refused');
  if (target.origin !== home && !config.allowOrigins.has(target.origin)) {
    throw new RefusedError(`next link to another origin (${target.origin}) refused; allow it with --allow-origin ${target.origin}`);
  }
  return target.href;
}
