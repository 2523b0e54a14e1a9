import type { HarvestConfig } from './config.js';
import { isDone, isIndexed, type HarvestState, type Stop } from './state.js';

/**
 * Gap: a way in which a harvest knows its output is incomplete. The outcome lists them; the
 * CLI names each in one line and exits with its own code.
 * - `failed`: offset/page pages not written whole — failed after their retries, empty or
 *   short while the stated total put records on them (`short` of them hold some records);
 *   listed in `<out>.failed.ndjson`, fetched again by `--retry-failed`.
 * - `stopped`: the run stopped at a page (cursor, link, or offset/page one at a time) and
 *   nothing after it was reached; `cause` says what gets past it.
 * - `short-of-total`: every page was reached but the server stated more records than it
 *   served; `emptyFrom` is where its pages ran empty (offset/page).
 */
export type Gap =
  | { kind: 'failed'; pages: number; short: number }
  | { kind: 'stopped'; url: string; index: number | undefined; reason: string; cause: NonNullable<Stop['cause']> }
  | { kind: 'short-of-total'; stated: number; written: number; emptyFrom: number | undefined };

/** gapsOf: what the state says is missing; empty when the harvest is complete. `--max-pages` is an end asked for, not a gap. */
export function gapsOf(state: HarvestState, config: HarvestConfig): Gap[] {
  const gaps: Gap[] = [];
  if (isIndexed(state) && state.failed.length > 0) {
    gaps.push({ kind: 'failed', pages: state.failed.length, short: state.failed.filter((f) => (f.written ?? 0) > 0).length });
  }
  if (state.stopped !== undefined) {
    const { url, reason, cause = 'failed' } = state.stopped;
    gaps.push({ kind: 'stopped', url, index: isIndexed(state) ? state.nextIndex : undefined, reason, cause });
  } else if (isDone(state)) {
    const stated = isIndexed(state) ? state.total?.records : state.total;
    const capped = !isIndexed(state) && config.maxPages !== undefined && state.pages >= config.maxPages;
    const emptyFrom = isIndexed(state) ? state.emptyFrom : undefined;
    if (stated !== undefined && state.records < stated && !capped && (emptyFrom !== undefined || !isIndexed(state))) {
      gaps.push({ kind: 'short-of-total', stated, written: state.records, emptyFrom });
    }
  }
  return gaps;
}
