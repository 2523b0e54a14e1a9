import { stat, unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { RateLimiter } from '../limiters/rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { flow } from '../flow/flow.js';
import type { FetchFn } from '../http/fetch-options.js';
import { redactUrl } from '../http/redact.js';
import { writeAtomically, removeStaleTemp } from './atomic-file.js';
import { autoLimit, type SendLatencyLimit } from './auto-concurrency.js';
import type { HarvestConfig } from './config.js';
import type { CrashHook } from './crash-points.js';
import type { HarvestMonitor } from './monitor.js';
import { DurableFile, ndjsonOf, StreamSink, type RecordSink } from './output.js';
import { CommitBatch } from './commit-batch.js';
import { PageFetcher, type PageResult } from './page-fetcher.js';
import { linkNext } from './page-reader.js';
import { firstUrl, nextUrlOf, urlForIndex } from './page-urls.js';
import { restoreSecrets } from './secrets.js';
import { attempted, endHere, failuresOf, freshState, isDone, isIndexed, type FailedPage, type FollowedState, type HarvestState, type IndexedState } from './state.js';
import { failedPathOf, loadState, serializeState, statePathOf } from './state-file.js';
import { RefusedError } from './transport.js';

export interface HarvestDeps {
  clock?: Clock;
  /** The fetch underneath sluiceFetch (tests pass a double). Default globalThis.fetch. */
  fetch?: FetchFn;
  /** Where records go without `out`. Default process.stdout. */
  stdout?: Writable;
  /** Test hook: called at each instant of a commit (see crash-points.ts). */
  crash?: CrashHook;
}

/** What a run achieved; counts include what earlier runs had done. */
export interface HarvestOutcome {
  records: number;
  pages: number;
  bytes: number;
  /** Pages that failed after their retries (listed in `<out>.failed.ndjson`). */
  failed: readonly FailedPage[];
  /** Every page was reached: nothing is left to fetch but failed pages. */
  complete: boolean;
  /** The state said so before this run started, and there was nothing to retry. */
  alreadyComplete: boolean;
}

/** Counts from earlier runs that this one resumes from. */
export interface Resumed {
  records: number;
  pages: number;
  bytes: number;
}

/**
 * Harvest: one `sluice harvest` run. `open` reads the state file and cuts the output back
 * to what it vouches for, without any request; `run` fetches what is left.
 *
 * Durability: each page's records are appended and fsynced, then the state file is
 * replaced atomically (temp, fsync, rename, directory fsync) with the new output length
 * and what is done. Pages are written in order (offset/page are fetched in parallel and
 * reordered), so the state is a position, not a set: a crash at any instant loses at
 * most the pages not yet in the state, which the next run cuts off and fetches again.
 */
export class Harvest {
  private constructor(
    private readonly config: HarvestConfig,
    private readonly deps: HarvestDeps,
    private readonly state: HarvestState,
    private readonly sink: RecordSink,
    readonly resumed: Resumed | undefined,
  ) {}

  static async open(config: HarvestConfig, deps: HarvestDeps = {}): Promise<Harvest> {
    if (config.out === undefined) {
      return new Harvest(config, deps, freshState(config), new StreamSink(deps.stdout ?? process.stdout), undefined);
    }
    const statePath = statePathOf(config.out);
    await removeStaleTemp(statePath);
    const saved = await loadState(statePath, config);
    const state = saved ?? freshState(config);
    if (saved === undefined) {
      // A file with no state beside it is not ours to overwrite; an empty one is what a
      // crash before the first commit leaves. The state is written before the first record.
      const size = await stat(config.out).then((s) => s.size, () => 0);
      if (size > 0) throw new ConfigError('--out', config.out, 'exists and has no state file beside it, so it is not a harvest to resume; remove it or choose another file');
      await writeAtomically(statePath, serializeState(state, config), deps.crash);
    }
    const sink = await DurableFile.open(config.out, state.bytes, deps.crash);
    const resumed = saved && saved.pages > 0 ? { records: saved.records, pages: saved.pages, bytes: saved.bytes } : undefined;
    return new Harvest(config, deps, state, sink, resumed);
  }

  /** Fetches what is left. Rejects with the signal's reason on abort (the state stays consistent), or on an I/O error. */
  async run(monitor: HarvestMonitor, signal: AbortSignal = new AbortController().signal): Promise<HarvestOutcome> {
    const run = new HarvestRun(this.config, this.deps, this.state, this.sink, monitor, signal);
    try {
      return await run.execute();
    } finally {
      run.dispose();
    }
  }

  async close(): Promise<void> {
    await this.sink.close();
  }
}

class HarvestRun {
  private readonly clock: Clock;
  private readonly fetcher: PageFetcher;
  private readonly limit: SendLatencyLimit | undefined;

  constructor(
    private readonly config: HarvestConfig,
    private readonly deps: HarvestDeps,
    private readonly state: HarvestState,
    private readonly sink: RecordSink,
    private readonly monitor: HarvestMonitor,
    private readonly signal: AbortSignal,
  ) {
    this.clock = deps.clock ?? systemClock;
    const limiter = config.rate
      ? new RateLimiter({
          limits: config.rate,
          clock: this.clock,
          ...(config.arrivalJitterMs === undefined ? {} : { arrivalJitter: config.arrivalJitterMs }),
          ...(config.store ? { store: config.store } : {}),
          ...(config.key ? { key: config.key } : {}),
        })
      : undefined;
    this.limit = config.concurrency === 'auto' ? autoLimit(limiter) : undefined;
    this.fetcher = new PageFetcher(config, {
      clock: this.clock,
      monitor,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      limiter,
      limit: this.limit,
      fixedConcurrency: config.concurrency === 'auto' ? 1 : config.concurrency,
    });
  }

  async execute(): Promise<HarvestOutcome> {
    const { state } = this;
    const wasComplete = isDone(state);
    // The page the last run stopped at is where this one starts again, not a failure to keep.
    delete state.stopped;
    this.reportTotals();
    await this.writeFailedFile();
    const retry = this.config.retryFailed && isIndexed(state) && state.failed.length > 0;
    if (retry) await this.retryFailed(state);
    while (!isDone(state)) {
      this.signal.throwIfAborted();
      if (this.reachedMaxPages()) await this.save(false);
      else if (isIndexed(state) && state.total !== undefined) await this.runParallel(state, state.total.pages);
      else if (!(await (isIndexed(state) ? this.stepByIndex(state) : this.stepByNext(state)))) break;
    }
    return {
      records: state.records,
      pages: state.pages,
      bytes: state.bytes,
      failed: failuresOf(state),
      complete: isDone(state),
      alreadyComplete: wasComplete && !retry,
    };
  }

  dispose(): void {
    this.fetcher.pause.dispose();
  }

  /**
   * One offset/page page, before a total is known: the first page, or each page of a data set
   * that states none. There is no telling whether more pages follow a failed one, so it
   * stops the run. False: stop this run.
   */
  private async stepByIndex(state: IndexedState): Promise<boolean> {
    const index = state.nextIndex;
    const page = await this.fetcher.fetch(urlForIndex(this.config, index), this.signal);
    if (page.ok && page.content.items.length > 0 && page.content.totalRecords !== undefined && state.total === undefined) {
      state.total = { records: page.content.totalRecords, pages: Math.ceil(page.content.totalRecords / this.config.pageSize) };
      this.reportTotals();
    }
    await this.commitByIndex(state, [{ index, page }], 'one-at-a-time');
    return page.ok;
  }

  /**
   * One cursor/link page: the page at the state's next, then where it points. A failed page,
   * or a next that must not be followed, stops the run. A page already written (its next was
   * refused last time) is fetched for its next only. False: stop this run.
   */
  private async stepByNext(state: FollowedState): Promise<boolean> {
    const { next } = state;
    if (next.at === 'end') return false;
    const url = next.at === 'first' ? firstUrl(this.config) : restoreSecrets(next.url, firstUrl(this.config));
    const page = await this.fetcher.fetch(url, this.signal);
    if (!page.ok) {
      state.stopped = { url: redactUrl(url), reason: page.reason };
      this.monitor.pageFailed(this.clock.now(), page.reason);
      await this.save(true);
      return false;
    }
    const written = next.at === 'after' ? [] : [page.content.items];
    if (written[0]?.length === 0) {
      endHere(state);
      await this.save(false);
      return false;
    }
    let refusal: string | undefined;
    try {
      const target = this.pointerOf(page, url);
      if (target === undefined) endHere(state);
      else state.next = { at: 'url', url: redactUrl(target) };
    } catch (error) {
      if (!(error instanceof RefusedError)) throw error;
      refusal = error.message;
      // Written, and the harvest cannot go on from here: said as a failure, and where the next run starts.
      state.next = { at: 'after', url: redactUrl(url) };
      state.stopped = { url: redactUrl(url), reason: `after this page: ${refusal}` };
    }
    await this.write(written, refusal !== undefined);
    if (refusal !== undefined) this.monitor.pageFailed(this.clock.now(), refusal);
    return refusal === undefined;
  }

  /** Where a cursor/link page says the next one is; undefined for none. Throws RefusedError for a next that must not be followed. */
  private pointerOf(page: Extract<PageResult, { ok: true }>, url: string): string | undefined {
    const pointer = this.config.paginate === 'link' ? (linkNext(page.headers.get('link'), page.url) ?? page.content.next) : page.content.next;
    if (pointer === undefined) return undefined;
    const target = nextUrlOf(this.config, pointer, page.url);
    if (target === url) throw new RefusedError('the next page is the page itself');
    return target;
  }

  /**
   * offset/page with a known total: the rest of the pages, in parallel up to the
   * concurrency, written in order. Commits are grouped: the pages that finished while the
   * previous commit was on disk go in one append, one fsync and one state write, since
   * three fsyncs a page hold the flow back on a busy disk (BENCHMARKS.md, harvest).
   */
  private async runParallel(state: IndexedState, totalPages: number): Promise<void> {
    const { config } = this;
    const end = Math.min(totalPages, config.maxPages ?? Number.POSITIVE_INFINITY);
    const controller = new AbortController();
    const stop = (): void => controller.abort(this.signal.reason);
    this.signal.addEventListener('abort', stop, { once: true });
    const batch = new CommitBatch<Placed>((entries) => this.commitByIndex(state, entries, 'in-parallel'));
    try {
      const results = flow(range(state.nextIndex, end), (index: number, context) => this.fetcher.fetch(urlForIndex(config, index), context.signal), {
        concurrency: this.limit ?? (config.concurrency as number),
        ordered: true,
        clock: this.clock,
        signal: controller.signal,
      });
      for await (const result of results) {
        if (!result.ok) throw result.error; // the worker rejects only on abort
        const page = result.value;
        const last = page.ok && page.content.items.length === 0;
        await batch.add({ index: result.input, page });
        if (last || batch.failed) break;
      }
      await batch.flush();
    } finally {
      controller.abort();
      this.signal.removeEventListener('abort', stop);
      await batch.flush().catch(() => {});
    }
  }

  /**
   * Records a run of offset/page pages in the state, in order, and commits them. An empty
   * page ends the harvest there. A failed page is skipped when pages go in parallel (the
   * total says more follow) and stops the harvest when they go one at a time; so does a page
   * with no next, when `--next` is given.
   */
  private async commitByIndex(state: IndexedState, entries: readonly Placed[], pace: 'one-at-a-time' | 'in-parallel'): Promise<void> {
    const written: (readonly unknown[])[] = [];
    let failedChanged = false;
    for (const { index, page } of entries) {
      if (page.ok && page.content.items.length === 0) {
        endHere(state);
        break;
      }
      if (!page.ok) {
        this.monitor.pageFailed(this.clock.now(), page.reason);
        failedChanged = true;
        const failure = { url: redactUrl(urlForIndex(this.config, index)), reason: page.reason };
        if (pace === 'one-at-a-time') {
          state.stopped = failure;
          break;
        }
        state.failed.push({ index, ...failure });
      } else {
        written.push(page.content.items);
      }
      state.nextIndex = index + 1;
      if (pace === 'one-at-a-time' && this.config.next && page.ok && page.content.next === undefined) endHere(state);
    }
    this.reachedMaxPages();
    await this.write(written, failedChanged);
  }

  /** --retry-failed: the failed offset/page pages again, in parallel; each success is appended (after the rest). */
  private async retryFailed(state: IndexedState): Promise<void> {
    const pages = state.failed.map((f) => f.index);
    const results = flow(pages, (index: number, context) => this.fetcher.fetch(urlForIndex(this.config, index), context.signal), {
      concurrency: this.limit ?? (this.config.concurrency as number),
      ordered: true,
      clock: this.clock,
      signal: this.signal,
    });
    for await (const result of results) {
      if (!result.ok) throw result.error;
      const at = state.failed.findIndex((f) => f.index === result.input);
      const page = result.value;
      if (page.ok) {
        state.failed.splice(at, 1);
        await this.write([page.content.items], true);
      } else {
        this.monitor.pageFailed(this.clock.now(), page.reason);
        state.failed[at] = { ...state.failed[at]!, reason: page.reason };
        await this.save(true);
      }
    }
  }

  /** --max-pages reached: the harvest ends where it stands, as if the data did. */
  private reachedMaxPages(): boolean {
    const { maxPages } = this.config;
    if (maxPages === undefined || isDone(this.state) || attempted(this.state) < maxPages) return false;
    endHere(this.state);
    return true;
  }

  /**
   * The one commit: appends the records of the pages just recorded in the state — in one
   * write, fsynced — counts them, saves the state, and reports each page done.
   */
  private async write(pages: readonly (readonly unknown[])[], failedChanged: boolean): Promise<void> {
    const { state } = this;
    const chunks = pages.map((items) => ndjsonOf(items));
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (bytes.length > 0) await this.sink.append(bytes);
    state.bytes += bytes.length;
    for (const items of pages) state.records += items.length;
    state.pages += pages.length;
    await this.save(failedChanged);
    const now = this.clock.now();
    pages.forEach((items, i) => this.monitor.pageDone(now, items.length, chunks[i]!.length));
  }

  private async save(failedChanged: boolean): Promise<void> {
    if (this.config.out === undefined) return;
    await writeAtomically(statePathOf(this.config.out), serializeState(this.state, this.config), this.deps.crash);
    if (failedChanged) await this.writeFailedFile();
  }

  /** `<out>.failed.ndjson`: the failed pages with their reasons, rewritten whole from the state (which is the truth). */
  private async writeFailedFile(): Promise<void> {
    if (this.config.out === undefined) return;
    const path = failedPathOf(this.config.out);
    const failed = failuresOf(this.state);
    if (failed.length === 0) {
      await unlink(path).catch(() => {});
      return;
    }
    const lines = failed.map((f) => JSON.stringify({ page: f.index ?? null, url: f.url, reason: f.reason }));
    await writeAtomically(path, `${lines.join('\n')}\n`);
  }

  private reportTotals(): void {
    const { state, config } = this;
    if (!isIndexed(state) || state.total === undefined) return;
    const { records, pages } = state.total;
    this.monitor.totals(this.clock.now(), { pages: config.maxPages === undefined ? pages : Math.min(pages, config.maxPages), records });
  }
}

/** An offset/page page's outcome at its index. */
interface Placed {
  index: number;
  page: PageResult;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}
