import type { HarvestConfig } from './config.js';

/**
 * HarvestState: what a harvest has made durable, one shape per way of finding the next page
 * — numbered pages (offset, page) or pages that point to the next (cursor, link) — each
 * with only the fields its pagination needs. It holds no secret: URLs are redacted.
 * Whether the harvest is over is derived (`isDone`), never stored.
 */
export type HarvestState = IndexedState | FollowedState;

/** What the output holds; common to every pagination. */
interface Written {
  /**
   * Length of the output that holds exactly the pages counted here; anything after it is a
   * page whose state was never saved, and is cut off and fetched again on resume.
   */
  bytes: number;
  records: number;
  /** Pages written. */
  pages: number;
  /**
   * The page the last run stopped at, and why: it failed while pages were fetched one at a
   * time (cursor, link, or offset/page before a total is known), so nothing after it could
   * be reached; or its next link was refused; or the server went round in a loop. The next
   * run starts there again; it is not a page to skip.
   */
  stopped?: Stop | undefined;
}

/** Why a page was not written: the page's URL (redacted) and the reason (redacted). */
export interface Failure {
  url: string;
  reason: string;
}

/**
 * Where and why a run stopped. `cause` says what would get past it: `failed` (the page
 * failed: run again), `refused` (its next link may not be followed: an option must change),
 * `loop` (the server led back to pages already written: the pagination is wrong or the
 * server repeats itself). Absent in files written before it was kept: `failed`.
 */
export interface Stop extends Failure {
  cause?: 'failed' | 'refused' | 'loop' | undefined;
}

/**
 * offset and page: pages are numbered from 0, fetched in parallel once a total is known,
 * and written in order, so the state is a position.
 */
export interface IndexedState extends Written {
  paginate: 'offset' | 'page';
  /** Index of the next page to write: every page before it is written or failed. */
  nextIndex: number;
  /**
   * Records a page as the server serves them, when the first page showed a size other than
   * `--page-size` (a server that caps it, or ignores `{limit}`): offsets, `{limit}` and the
   * page count follow it. Undefined: `--page-size`.
   */
  pageSize?: number | undefined;
  /** The data set's size, once a page stated it; its page count is in pages of `pageSize`. */
  total?: Total | undefined;
  /**
   * With a total: the first of the empty pages that the written pages end with, when the
   * total says more records follow. A page with records after them makes them gaps
   * (failures); the end of the total, or a few of them in a row, makes them the end of the
   * data — short of what the server stated.
   */
  emptyFrom?: number | undefined;
  /**
   * Without a total: the last page written was shorter than a page (`records` of them). It
   * was the last page if the next is empty; if the next has records, it was a gap.
   */
  short?: { index: number; records: number } | undefined;
  /**
   * Index of the first page not to fetch, when the harvest ends before the total says so:
   * an empty page's, the one after a page with no next (`--next`), or where `--max-pages`
   * stopped it. Undefined until one of those happens.
   */
  end?: number | undefined;
  /** Pages that failed after their retries and were skipped; `--retry-failed` fetches them again. */
  failed: IndexedFailure[];
}

export interface Total {
  records: number;
  pages: number;
}

/**
 * A page not written whole: it failed (nothing of it written), or it came back short of
 * what the total and page size say while later pages had records — `written` of its records
 * are in the output, and `--retry-failed` appends only those after them.
 */
export interface IndexedFailure extends Failure {
  index: number;
  written?: number | undefined;
}

/** cursor and link: each page names the next, so they are fetched one after another. */
export interface FollowedState extends Written {
  paginate: 'cursor' | 'link';
  next: NextPage;
  /** The record count the first page that stated one gave; fewer written by the end is a known shortfall. */
  total?: number | undefined;
}

/**
 * Where a cursor or link harvest goes on:
 * - `first`: nothing is written yet; the template's first page.
 * - `url`: the next page's URL, as fetched (the state file holds it without the user's
 *   own secrets, see saved-url.ts).
 * - `after`: the page at `url` is written, but the next page it named was refused (another
 *   origin not allowed, a cursor with no `{cursor}` to go in): it is fetched again for its
 *   next only — perhaps allowed now (`--allow-origin`) — and not written twice.
 * - `end`: the last page written named no next, or `--max-pages` was reached.
 */
export type NextPage = { at: 'first' } | { at: 'url'; url: string } | { at: 'after'; url: string } | { at: 'end' };

/** Records a page of an offset/page harvest holds: the size the server serves, else --page-size. */
export function pageSizeOf(state: IndexedState, config: HarvestConfig): number {
  return state.pageSize ?? config.pageSize;
}

/** The state of a harvest that has not fetched anything. */
export function freshState(config: HarvestConfig): HarvestState {
  const written = { bytes: 0, records: 0, pages: 0 };
  if (config.paginate === 'offset' || config.paginate === 'page') return { paginate: config.paginate, ...written, nextIndex: 0, failed: [] };
  return { paginate: config.paginate, ...written, next: { at: 'first' } };
}

export function isIndexed(state: HarvestState): state is IndexedState {
  return state.paginate === 'offset' || state.paginate === 'page';
}

/** Every page was reached: nothing is left to fetch but failed pages. */
export function isDone(state: HarvestState): boolean {
  if (!isIndexed(state)) return state.next.at === 'end';
  return state.nextIndex >= Math.min(state.end ?? Number.POSITIVE_INFINITY, state.total?.pages ?? Number.POSITIVE_INFINITY);
}

/**
 * endHere: the harvest ends where it stands — the data ended (an empty page, a page with no
 * next) or `--max-pages` was reached. What is before this point is all it will fetch.
 */
export function endHere(state: HarvestState): void {
  if (isIndexed(state)) state.end = Math.min(state.end ?? Number.POSITIVE_INFINITY, state.nextIndex);
  else state.next = { at: 'end' };
}

/** Pages fetched so far, written or failed: what `--max-pages` counts. */
export function attempted(state: HarvestState): number {
  return isIndexed(state) ? state.nextIndex : state.pages;
}

/** Every page not written, as `<out>.failed.ndjson` lists them and the outcome reports them: skipped ones, then where it stopped. */
export function failuresOf(state: HarvestState): FailedPage[] {
  const skipped: FailedPage[] = isIndexed(state) ? state.failed.map(({ index, url, reason }) => ({ index, url, reason })) : [];
  if (state.stopped === undefined) return skipped;
  // The cause is the state's to keep (what gets past the stop), not part of the page's report.
  const { url, reason } = state.stopped;
  return [...skipped, isIndexed(state) ? { index: state.nextIndex, url, reason } : { url, reason }];
}

/** A page that was not written, as reported: by index (offset/page) and by URL, redacted. */
export interface FailedPage {
  index?: number | undefined;
  url: string;
  reason: string;
}
