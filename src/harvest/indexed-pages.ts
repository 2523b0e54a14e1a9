import { redactUrl } from '../http/redact.js';
import type { HarvestConfig } from './config.js';
import { DEFAULTS } from './config.js';
import type { LoopGuard } from './loop-guard.js';
import { expectedRecords } from './page-count.js';
import type { PageResult } from './page-fetcher.js';
import { urlForIndex } from './page-urls.js';
import { endHere, isDone, pageSizeOf, type IndexedState } from './state.js';

/** An offset/page page's outcome at its index. */
export interface Placed {
  index: number;
  page: PageResult;
}

/** What placing a run of pages decided: the records to append (a page's lines each), whether the failed pages changed, the failure reasons to report. */
export interface Placement {
  written: string[][];
  failedChanged: boolean;
  failures: string[];
}

/**
 * placeIndexedPages: a run of offset/page pages, in index order, recorded in the state —
 * the one place that decides what each page means for the harvest. Pure but for the state
 * it updates and the guard it consults; the caller appends `written` and saves.
 *
 * - A failed page is skipped, listed in `failed`, when pages go in parallel (the total says
 *   more follow); one at a time it stops the run there.
 * - A page whose records were all written already is a loop: the run stops there.
 * - An empty page ends the data when there is no total. With a total, an empty first page
 *   stops the run (it sets the page size, so nothing after it can be placed); a later one is suspect
 *   (`emptyFrom`): a later page with records makes it a gap, listed in `failed`;
 *   `emptyPagesToEnd` of them in a row, or the total's end, make them the early end of the
 *   data — short of the total, which the outcome reports.
 * - A page with fewer records than the total implies is written, and listed in `failed`
 *   with how many it held (`--retry-failed` appends the rest); one with more than a page is
 *   not written (the server's page size changed) and is listed too.
 * - Without a total, a short page is the last if the next is empty, and a gap if the next
 *   has records (`short`).
 * - With `--next`, one at a time, a page without a next ends the harvest.
 */
export function placeIndexedPages(state: IndexedState, config: HarvestConfig, guard: LoopGuard, entries: readonly Placed[], pace: 'one-at-a-time' | 'in-parallel'): Placement {
  const placement: Placement = { written: [], failedChanged: false, failures: [] };
  const size = pageSizeOf(state, config);
  const urlOf = (index: number): string => redactUrl(urlForIndex(config, index, size));
  const fail = (index: number, reason: string, written?: number): void => {
    state.failed.push({ index, url: urlOf(index), reason, ...(written === undefined ? {} : { written }) });
    placement.failedChanged = true;
  };
  for (const { index, page } of entries) {
    // Pages fetched ahead of an end or a stop are not the harvest's any more.
    if (isDone(state) || state.stopped !== undefined || index !== state.nextIndex) break;
    if (!page.ok) {
      placement.failures.push(page.reason);
      if (pace === 'one-at-a-time') {
        state.stopped = { url: urlOf(index), reason: page.reason, cause: page.refused ? 'refused' : 'failed' };
        placement.failedChanged = true;
        break;
      }
      fail(index, page.reason);
      state.nextIndex = index + 1;
      continue;
    }
    const { lines } = page.content;
    if (lines.length === 0 && state.total === undefined) {
      delete state.short; // the short page before it was the last
      endHere(state);
      break;
    }
    if (lines.length === 0 && index === 0) {
      // The first page teaches the page size every other page's place depends on: without it, nothing after it can be placed.
      const reason = `empty, while the server states ${state.total?.records} records; the first page sets the page size, so the harvest goes no further without it`;
      state.stopped = { url: urlOf(index), reason, cause: 'failed' };
      placement.failures.push(reason);
      placement.failedChanged = true;
      break;
    }
    if (lines.length === 0) {
      state.nextIndex = index + 1;
      state.emptyFrom ??= index;
      if (index + 1 - state.emptyFrom >= DEFAULTS.emptyPagesToEnd) state.end = Math.min(state.end ?? Number.POSITIVE_INFINITY, state.emptyFrom);
      continue;
    }
    if (guard.repeats(lines)) {
      const reason = `loop: the ${lines.length} records of this page were all written already; the server serves the same records again (does it read the template's page parameter?)`;
      state.stopped = { url: urlOf(index), reason, cause: 'loop' };
      placement.failures.push(reason);
      placement.failedChanged = true;
      break;
    }
    // Records after empty or short pages: those were gaps, not the end.
    if (state.emptyFrom !== undefined) {
      // Among them, pages that failed outright are listed already.
      const listed = new Set(state.failed.map((f) => f.index));
      for (let i = state.emptyFrom; i < index; i++) if (!listed.has(i)) fail(i, `empty, while the stated total (${state.total?.records}) puts records on it and page ${index} had some`);
      delete state.emptyFrom;
    }
    if (state.short !== undefined) {
      fail(state.short.index, `${state.short.records} records where a page holds ${size}, and page ${index} followed with more`, state.short.records);
      delete state.short;
    }
    const expected = expectedRecords(state, config, index);
    state.nextIndex = index + 1;
    if (expected !== undefined && lines.length > expected.max) {
      const reason = `${lines.length} records, more than the ${expected.max} a page held so far: the server's page size changed`;
      placement.failures.push(reason);
      fail(index, reason);
      continue;
    }
    if (expected !== undefined && lines.length < expected.min) {
      fail(index, `${lines.length} of the ${expected.min} records the stated total (${state.total?.records}) puts on this page`, lines.length);
    } else if (expected === undefined && lines.length < size) {
      state.short = { index, records: lines.length };
    }
    placement.written.push(lines);
    guard.written(lines); // a later page of this run must see them
    if (pace === 'one-at-a-time' && config.next && page.content.next === undefined) {
      delete state.short;
      endHere(state);
    }
  }
  return placement;
}
