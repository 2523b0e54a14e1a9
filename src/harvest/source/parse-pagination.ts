import { ConfigError } from '../../core/errors.js';
import { parseJsonPath, type PathStep } from '../json-path.js';
import type { Fields } from './fields.js';
import type { PaginationConfig } from './source-config.js';

const TYPES = ['offset', 'page', 'cursor', 'link', 'auto'] as const;
const DEFAULT_LIMIT = 100;

/**
 * parsePagination: a resource's `pagination`, over the `defaults.pagination` of the file
 * (the resource's keys win; defaults of another type are not mixed in). The query
 * parameters it names are added to the resource's URL as harvest's placeholders.
 */
export function parsePagination(own: Fields | undefined, defaults: Fields | undefined, path: string): PaginationConfig {
  const fields = [own, defaults].filter((f): f is Fields => f !== undefined);
  const typeOf = (f: Fields): (typeof TYPES)[number] | undefined => f.oneOf('type', TYPES);
  const ownType = own ? typeOf(own) : undefined;
  const defaultType = defaults ? typeOf(defaults) : undefined;
  const type = ownType ?? defaultType ?? 'auto';
  // A default of another type would lend it fields that mean nothing here.
  const from = ownType !== undefined && defaultType !== undefined && ownType !== defaultType ? fields.slice(0, 1) : fields;
  // Every layer is read (so each is checked), the first that has the key wins.
  const pick = <T>(read: (f: Fields) => T | undefined): T | undefined => from.map(read).find((v) => v !== undefined);
  const name = (key: string): string | undefined => pick((f) => {
    const v = f.string(key);
    if (v !== undefined && !/^[^\s&=#?{}]+$/.test(v)) throw new ConfigError(f.at(key), v, 'must be a query parameter name');
    return v;
  });
  const json = (key: string): PathStep[] | undefined => pick((f) => {
    const v = f.string(key);
    return v === undefined ? undefined : parseJsonPath(v, f.at(key));
  });
  const limit = pick((f) => f.whole('limit', 1)) ?? DEFAULT_LIMIT;
  const maxPages = pick((f) => f.whole('maxPages', 1));
  let result: PaginationConfig;
  switch (type) {
    case 'offset':
      result = { type, offsetParam: name('offsetParam') ?? 'offset', limitParam: name('limitParam') ?? 'limit', limit, totalPath: json('totalPath'), maxPages };
      break;
    case 'page':
      result = { type, pageParam: name('pageParam') ?? 'page', limitParam: name('limitParam'), limit, basePage: pick((f) => f.whole('basePage', 0)) ?? 1, totalPath: json('totalPath'), maxPages };
      break;
    case 'cursor': {
      const cursorPath = json('cursorPath');
      if (cursorPath === undefined) throw new ConfigError(`${path}.cursorPath`, undefined, 'is required for cursor pagination: where the next cursor is in the body, e.g. "next_cursor"');
      result = { type, cursorParam: name('cursorParam') ?? 'cursor', cursorPath, limitParam: name('limitParam'), limit, maxPages };
      break;
    }
    case 'link':
      result = { type, nextUrlPath: json('nextUrlPath'), limitParam: name('limitParam'), limit, maxPages };
      break;
    case 'auto':
      result = { type, limit, maxPages };
      break;
  }
  for (const f of fields) if (from.includes(f)) f.done();
  return result;
}
