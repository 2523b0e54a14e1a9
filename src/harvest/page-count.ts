import type { HarvestConfig } from './config.js';
import type { PageContent } from './page-reader.js';
import { pageSizeOf, type IndexedState } from './state.js';

/**
 * What the records of offset/page pages are compared with, so that a harvest knows when it
 * is short: the size the server serves a page at (learned from the first page) and the
 * total it states.
 */

/**
 * learnFromFirstPage: what the first page tells of the data set — its size, and the size the
 * server serves a page at. A first page shorter than `--page-size` while more records follow
 * (a total beyond it, a next, or no word either way) shows a server that caps its pages;
 * a longer one, a server that ignores `{limit}`. Either way that size is the page size from
 * here on: offsets step by it, `{limit}` asks for it, the total's pages are counted in it.
 */
export function learnFromFirstPage(state: IndexedState, config: HarvestConfig, index: number, content: PageContent): void {
  const served = content.lines.length;
  if (index === 0 && state.pageSize === undefined && served > 0 && served !== config.pageSize) {
    const last = (content.totalRecords !== undefined && served >= content.totalRecords) || (config.next !== undefined && content.next === undefined);
    if (!last) state.pageSize = served;
  }
  if (state.total === undefined && content.totalRecords !== undefined) state.total = { records: content.totalRecords, pages: 0 };
  // The page count follows the page size, learned from this page or the same first page asked again.
  if (state.total !== undefined) state.total.pages = Math.ceil(state.total.records / pageSizeOf(state, config));
}

/**
 * expectedRecords: how many records page `index` should hold by the stated total — a whole
 * page before the last; the rest on the last, or more if the data set grew (up to a page).
 * Undefined without a total: then only the page after a short one tells whether it was the
 * last.
 */
export function expectedRecords(state: IndexedState, config: HarvestConfig, index: number): { min: number; max: number } | undefined {
  if (state.total === undefined) return undefined;
  const size = pageSizeOf(state, config);
  const { records, pages } = state.total;
  if (index < pages - 1) return { min: size, max: size };
  return { min: Math.max(0, records - index * size), max: size };
}

/** Whether a page's record count is what the total says it should be (always, without a total). */
export function fitsExpected(state: IndexedState, config: HarvestConfig, index: number, count: number): boolean {
  const expected = expectedRecords(state, config, index);
  return expected === undefined || (count >= expected.min && count <= expected.max);
}
