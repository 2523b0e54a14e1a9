import { formatPath, valueAt, type PathStep } from './json-path.js';
import { rawAt, rawElements } from './raw-json.js';

/**
 * What one page's body says: its records, each as the NDJSON line it becomes (its text as
 * the server sent it, whitespace outside strings removed), the total when stated, and the
 * next cursor or URL.
 */
export interface PageContent {
  lines: string[];
  totalRecords: number | undefined;
  next: string | undefined;
}

/** A page whose body is not what the options describe: not retried, the page fails with this reason. */
export class PageShapeError extends Error {
  override name = 'PageShapeError';
}

const ITEM_KEYS = ['results', 'data', 'items', 'records', 'entries'];
const TOTAL_KEYS = ['count', 'total', 'total_count', 'totalCount'];

/**
 * readPage: the records, total and next pointer of a body — `body` parsed from `text`.
 * Records are at `items` (or found: the body if an array, else the first array among
 * results/data/items/records/entries); the total at `total` (or count/total/total_count/
 * totalCount, or X-Total-Count); the next at `next`. A next that is null, missing or empty
 * means there is none; a number is taken as written (a cursor beyond 2^53 stays exact).
 */
export function readPage(body: unknown, text: string, headers: Headers, paths: { items?: PathStep[] | undefined; total?: PathStep[] | undefined; next?: PathStep[] | undefined }): PageContent {
  const at = paths.items ?? itemsPath(body);
  const lines = at !== undefined && Array.isArray(valueAt(body, at)) ? rawElements(text, at) : undefined;
  if (lines === undefined) {
    throw new PageShapeError(paths.items ? `no array at --items ${formatPath(paths.items)}` : 'no records array found in the body; name it with --items');
  }
  return { lines, totalRecords: readTotal(body, headers, paths.total), next: readNext(body, text, paths.next) };
}

/** Where the records are when --items does not say: the body if an array, else the first array among ITEM_KEYS. */
function itemsPath(body: unknown): PathStep[] | undefined {
  if (Array.isArray(body)) return [];
  return ITEM_KEYS.map((key) => [key]).find((path) => Array.isArray(valueAt(body, path)));
}

function readTotal(body: unknown, headers: Headers, path: PathStep[] | undefined): number | undefined {
  const candidates = path ? [valueAt(body, path)] : [...TOTAL_KEYS.map((k) => valueAt(body, [k])), headers.get('x-total-count')];
  for (const value of candidates) {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
  }
  return undefined;
}

function readNext(body: unknown, text: string, path: PathStep[] | undefined): string | undefined {
  if (!path) return undefined;
  const value = valueAt(body, path);
  if (typeof value === 'number') return rawAt(text, path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The `rel="next"` target of an RFC 8288 Link header, resolved against the page's URL. */
export function linkNext(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!match) continue;
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(match[2]!);
    const rel = (rels?.[1] ?? rels?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rel.includes('next')) {
      try {
        return new URL(match[1]!, base).href;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
