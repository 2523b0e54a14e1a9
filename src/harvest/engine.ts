import { unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { RateLimiter } from '../limiters/rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { flow } from '../flow/flow.js';
import type { FetchFn } from '../http/fetch-options.js';
import { redactUrl } from '../http/redact.js';
import { writeAtomically } from './atomic-file.js';
import { autoLimit, type SendLatencyLimit } from './auto-concurrency.js';
import { DEFAULTS, type HarvestConfig } from './config.js';
import type { CrashHook } from './crash-points.js';
import { gapsOf, type Gap } from './gaps.js';
import { placeIndexedPages, type Placed } from './indexed-pages.js';
import { LoopGuard } from './loop-guard.js';
import type { HarvestMonitor } from './monitor.js';
import { CommitBatch } from './commit-batch.js';
import { expectedRecords, fitsExpected, learnFromFirstPage } from './page-count.js';
import { PageFetcher, type PageResult } from './page-fetcher.js';
import { linkNext, type PageContent } from './page-reader.js';
import { firstUrl, nextUrlOf, urlForIndex } from './page-urls.js';
import { attempted, endHere, failuresOf, freshState, isDone, isIndexed, pageSizeOf, type FailedPage, type FollowedState, type HarvestState, type IndexedState } from './state.js';
import { NdjsonSink } from './sinks/ndjson.js';
import { openSink } from './sinks/open-sink.js';
import { ndjsonLength, type ResourceWriter, type Sink } from './sinks/sink.js';
import { StreamWriter } from './sinks/stream.js';
import { failedPathOf, stateCodecOf } from './state-file.js';
import { RefusedError } from './transport.js';

export interface HarvestDeps {
  clock?: Clock | undefined;
  /** The fetch underneath sluiceFetch (tests pass a double). Default globalThis.fetch. */
  fetch?: FetchFn | undefined;
  /** Where records go without `out`. Default process.stdout. */
  stdout?: Writable | undefined;
  /** Test hook: called at each instant of a commit (see crash-points.ts). */
  crash?: CrashHook | undefined;
  /** Where records go instead of `out` or stdout (sinks/sink.ts); the caller closes it. */
  sink?: Sink | undefined;
  /** The rate limiter to pace by instead of one made from `config.rate`: one budget shared by several harvests (a source's resources). */
  limiter?: RateLimiter | undefined;
  /** This harvest's place in the shared limiter's queue: higher first (SluiceFetchOptions.priority). Default 0. */
  priority?: number | undefined;
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
  /** What the harvest knows is missing from the output (gaps.ts); empty when it holds every record the server offered. */
  gaps: readonly Gap[];
}

/** Counts from earlier runs that this one resumes from. */
export interface Resumed {
  records: number;
  pages: number;
  bytes: number;
}

/**
 * Harvest: one `sluice harvest` run. `open` opens the resource's writer (for `--out`, it
 * takes the output's lock), reads and checks its last commit and discards what a crash left
 * after it, without any request; `run` fetches what is left; `close` releases the writer.
 *
 * Durability is the writer's (sinks/sink.ts): each commit makes a group of pages' records and
 * the state after them durable as one step — for `--out`, records appended and fsynced, then
 * the state file replaced atomically. Pages are committed in order (offset/page are fetched in
 * parallel and reordered), so the state is a position, not a set: a crash at any instant
 * loses at most the pages not yet in the state, which the next run fetches again.
 */
export class Harvest {
  private constructor(
    private readonly config: HarvestConfig,
    private readonly deps: HarvestDeps,
    private readonly state: HarvestState,
    private readonly writer: ResourceWriter<HarvestState>,
    private readonly sink: Sink | undefined,
    private readonly guard: LoopGuard,
    readonly resumed: Resumed | undefined,
  ) {}

  /**
   * Opens the harvest. Throws ConfigError for an `--out` that cannot be a harvest's output
   * (a directory, a device, a missing directory, someone else's file), OutputLockedError when
   * another harvest writes it, StateRefusedError when its state cannot be trusted.
   */
  static async open(config: HarvestConfig, deps: HarvestDeps = {}): Promise<Harvest> {
    const sink = deps.sink ?? (await sinkOf(config, deps));
    if (sink === undefined) {
      return new Harvest(config, deps, freshState(config), new StreamWriter(deps.stdout ?? process.stdout), undefined, new LoopGuard(), undefined);
    }
    let writer: ResourceWriter<HarvestState>;
    try {
      writer = await sink.open({ name: RESOURCE, codec: stateCodecOf(config), tailRecords: LoopGuard.tailRecords, primaryKey: config.primaryKey, write: config.write });
    } catch (error) {
      await sink.close();
      throw error;
    }
    try {
      const saved = await writer.resume();
      const state = saved?.state ?? freshState(config);
      // The state is committed before the first record: a resume then knows whose output it is.
      if (saved === undefined) await writer.commit([], state);
      const guard = new LoopGuard();
      guard.written(saved?.lastRecords ?? []);
      const resumed = saved && saved.state.pages > 0 ? { records: saved.state.records, pages: saved.state.pages, bytes: saved.state.bytes } : undefined;
      // A sink the caller gave is the caller's to close (a source's resources share one).
      return new Harvest(config, deps, state, writer, deps.sink === undefined ? sink : undefined, guard, resumed);
    } catch (error) {
      await writer.close().finally(() => sink.close());
      throw error;
    }
  }

  /** Fetches what is left. Rejects with the signal's reason on abort (the state stays consistent), or on an I/O error. */
  async run(monitor: HarvestMonitor, signal: AbortSignal = new AbortController().signal): Promise<HarvestOutcome> {
    const run = new HarvestRun(this.config, this.deps, this.state, this.writer, this.guard, monitor, signal);
    try {
      return await run.execute();
    } finally {
      run.dispose();
    }
  }

  async close(): Promise<void> {
    try {
      await this.writer.close();
    } finally {
      await this.sink?.close();
    }
  }
}

/** The sink `--sink` or `--out` names; undefined: stdout. */
async function sinkOf(config: HarvestConfig, deps: HarvestDeps): Promise<Sink | undefined> {
  if (config.sink !== undefined) return openSink(config.sink, { crash: deps.crash });
  if (config.out !== undefined) return new NdjsonSink({ pathOf: () => config.out!, crash: deps.crash });
  return undefined;
}

/** The one resource of a one-endpoint harvest: its name in a sink (a table name). */
const RESOURCE = 'records';

class HarvestRun {
  private readonly clock: Clock;
  private readonly fetcher: PageFetcher;
  private readonly limit: SendLatencyLimit | undefined;

  constructor(
    private readonly config: HarvestConfig,
    private readonly deps: HarvestDeps,
    private readonly state: HarvestState,
    private readonly writer: ResourceWriter<HarvestState>,
    private readonly guard: LoopGuard,
    private readonly monitor: HarvestMonitor,
    private readonly signal: AbortSignal,
  ) {
    this.clock = deps.clock ?? systemClock;
    const limiter = deps.limiter ?? (config.rate
      ? new RateLimiter({
          limits: config.rate,
          clock: this.clock,
          ...(config.arrivalJitterMs === undefined ? {} : { arrivalJitter: config.arrivalJitterMs }),
          ...(config.store ? { store: config.store } : {}),
          ...(config.key ? { key: config.key } : {}),
        })
      : undefined);
    this.limit = config.concurrency === 'auto' ? autoLimit(limiter) : undefined;
    this.fetcher = new PageFetcher(config, {
      clock: this.clock,
      monitor,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      limiter,
      limit: this.limit,
      fixedConcurrency: config.concurrency === 'auto' ? 1 : config.concurrency,
      priority: deps.priority,
    });
  }

  async execute(): Promise<HarvestOutcome> {
    const { state } = this;
    const wasComplete = isDone(state);
    // The page the last run stopped at is where this one starts again, not a failure to keep.
    delete state.stopped;
    this.reportTotals();
    await this.writeFailedFile();
    const retry = this.config.retryFailed && isIndexed(state) && (state.failed.length > 0 || state.emptyFrom !== undefined);
    if (retry) await this.retryFailed(state);
    while (!isDone(state)) {
      this.signal.throwIfAborted();
      if (this.reachedMaxPages()) await this.save(false);
      // The first page goes alone (it teaches the page size), however its total is known.
      else if (isIndexed(state) && state.total !== undefined && state.nextIndex > 0) {
        if (!(await this.runParallel(state, state.total.pages))) break;
      } else if (!(await (isIndexed(state) ? this.stepByIndex(state) : this.stepByNext(state)))) break;
    }
    return {
      records: state.records,
      pages: state.pages,
      bytes: state.bytes,
      failed: failuresOf(state),
      complete: isDone(state),
      alreadyComplete: wasComplete && !retry,
      gaps: gapsOf(state, this.config),
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
    const hadTotal = state.total !== undefined;
    const page = await this.recount(state, index, await this.fetchIndexed(state, index), (content) => learnFromFirstPage(state, this.config, index, content));
    if (!hadTotal && state.total !== undefined) this.reportTotals();
    return this.commitByIndex(state, [{ index, page }], 'one-at-a-time');
  }

  /**
   * A page whose record count the stated total contradicts — short, empty, or longer than a
   * page — asked again, up to `recountAsks` times: a server may answer a page short once
   * (a replica behind, a timeout inside it) and whole the next time. `learn` reads what
   * each answer says of the data set (its total; the first page, its page size).
   */
  private async recount(state: IndexedState, index: number, page: PageResult, learn?: (content: PageContent) => void): Promise<PageResult> {
    for (let ask = 0; ; ask++) {
      if (!page.ok) return page;
      learn?.(page.content);
      if (ask >= DEFAULTS.recountAsks || fitsExpected(state, this.config, index, page.content.lines.length)) return page;
      page = await this.fetchIndexed(state, index);
    }
  }

  private fetchIndexed(state: IndexedState, index: number, signal = this.signal): Promise<PageResult> {
    return this.fetcher.fetch(urlForIndex(this.config, index, pageSizeOf(state, this.config)), signal);
  }

  /**
   * One cursor/link page: the page at the state's next, then where it points. A failed page,
   * a next that must not be followed, and a loop stop the run. A page already written (its
   * next was refused last time) is fetched for its next only. An empty page that names a
   * next is followed: some APIs answer empty pages mid-listing. False: stop this run.
   */
  private async stepByNext(state: FollowedState): Promise<boolean> {
    const { next } = state;
    if (next.at === 'end') return false;
    const url = next.at === 'first' ? firstUrl(this.config) : next.url;
    this.guard.fetching(url);
    const page = await this.fetcher.fetch(url, this.signal);
    if (!page.ok) return this.stopAt(state, url, page.reason, page.refused ? 'refused' : 'failed');
    if (state.total === undefined && page.content.totalRecords !== undefined) {
      state.total = page.content.totalRecords;
      this.monitor.totals(this.clock.now(), { records: state.total });
    }
    const lines = next.at === 'after' ? undefined : page.content.lines;
    if (lines !== undefined && this.guard.repeats(lines)) {
      return this.stopAt(state, url, `loop: the ${lines.length} records of this page were all written already, from earlier pages; the server leads back to pages it served before`, 'loop');
    }
    let stop: { reason: string; cause: 'refused' | 'loop' } | undefined;
    try {
      const target = this.pointerOf(page);
      if (target === undefined) endHere(state);
      else if (this.guard.fetched(target)) stop = { reason: `after this page: loop: ${target === url ? 'the next page is the page itself' : `the next page (${redactUrl(target)}) was fetched already in this run`}`, cause: 'loop' };
      else state.next = { at: 'url', url: target };
    } catch (error) {
      if (!(error instanceof RefusedError)) throw error;
      stop = { reason: `after this page: ${error.message}`, cause: 'refused' };
    }
    if (stop !== undefined) {
      // Written (now or before), and the harvest cannot go on from here: where the next run starts.
      state.next = { at: 'after', url };
      state.stopped = { url: redactUrl(url), ...stop };
    }
    await this.write(lines === undefined ? [] : [lines], stop !== undefined);
    if (stop !== undefined) this.monitor.pageFailed(this.clock.now(), stop.reason);
    return stop === undefined;
  }

  /** Stops a cursor/link run at the page at `url`, not written: the next run starts there. */
  private async stopAt(state: FollowedState, url: string, reason: string, cause: 'failed' | 'refused' | 'loop'): Promise<false> {
    state.stopped = { url: redactUrl(url), reason, cause };
    this.monitor.pageFailed(this.clock.now(), reason);
    await this.save(true);
    return false;
  }

  /** Where a cursor/link page says the next one is; undefined for none. Throws RefusedError for a next that must not be followed. */
  private pointerOf(page: Extract<PageResult, { ok: true }>): string | undefined {
    const pointer = this.config.paginate === 'link' ? (linkNext(page.headers.get('link'), page.url) ?? page.content.next) : page.content.next;
    if (pointer === undefined) return undefined;
    return nextUrlOf(this.config, pointer, page.url);
  }

  /**
   * offset/page with a known total: the rest of the pages, in parallel up to the
   * concurrency, written in order. Commits are grouped: the pages that finished while the
   * previous commit was on disk go in one append, one fsync and one state write, since
   * three fsyncs a page hold the flow back on a busy disk (BENCHMARKS.md, harvest).
   * False: the run stopped (a loop).
   */
  private async runParallel(state: IndexedState, totalPages: number): Promise<boolean> {
    const { config } = this;
    const end = Math.min(totalPages, config.maxPages ?? Number.POSITIVE_INFINITY);
    const controller = new AbortController();
    const stop = (): void => controller.abort(this.signal.reason);
    this.signal.addEventListener('abort', stop, { once: true });
    const batch = new CommitBatch<Placed>(async (entries) => void (await this.commitByIndex(state, entries, 'in-parallel')));
    try {
      const results = flow(range(state.nextIndex, end), (index: number, context) => this.fetchIndexed(state, index, context.signal), {
        concurrency: this.limit ?? (config.concurrency as number),
        ordered: true,
        clock: this.clock,
        signal: controller.signal,
      });
      for await (const result of results) {
        if (!result.ok) throw result.error; // the worker rejects only on abort
        const page = await this.recount(state, result.input, result.value);
        await batch.add({ index: result.input, page });
        if (batch.failed || isDone(state) || state.stopped !== undefined) break;
      }
      await batch.flush();
    } finally {
      controller.abort();
      this.signal.removeEventListener('abort', stop);
      await batch.flush().catch(() => {});
    }
    return state.stopped === undefined;
  }

  /** Places a run of offset/page pages in the state (placeIndexedPages) and commits them. False: the run stops here. */
  private async commitByIndex(state: IndexedState, entries: readonly Placed[], pace: 'one-at-a-time' | 'in-parallel'): Promise<boolean> {
    const { written, failedChanged, failures } = placeIndexedPages(state, this.config, this.guard, entries, pace);
    const now = this.clock.now();
    for (const reason of failures) this.monitor.pageFailed(now, reason);
    this.reachedMaxPages();
    await this.write(written, failedChanged);
    return state.stopped === undefined && entries.every(({ page }) => page.ok);
  }

  /**
   * --retry-failed: the pages listed in `failed` again, in parallel. A page now whole is
   * appended (after the rest: the output is then no longer in page order) — only the records
   * after those a short page already gave. Where the data ran empty before the stated total,
   * the harvest goes on from there.
   */
  private async retryFailed(state: IndexedState): Promise<void> {
    if (state.emptyFrom !== undefined) {
      // Nothing was written from there on: those pages are fetched again as the rest of the harvest.
      const from = state.emptyFrom;
      state.failed = state.failed.filter((f) => f.index < from);
      if (state.end === from) delete state.end;
      delete state.emptyFrom;
      state.nextIndex = from;
    }
    const pages = state.failed.map((f) => f.index);
    const results = flow(pages, (index: number, context) => this.fetchIndexed(state, index, context.signal), {
      concurrency: this.limit ?? (this.config.concurrency as number),
      ordered: true,
      clock: this.clock,
      signal: this.signal,
    });
    for await (const result of results) {
      if (!result.ok) throw result.error;
      const at = state.failed.findIndex((f) => f.index === result.input);
      const failure = state.failed[at]!;
      const page = result.value;
      const reason = this.stillMissing(state, failure.index, page);
      const fresh = page.ok ? page.content.lines.slice(failure.written ?? 0) : [];
      if (page.ok && fresh.length > 0 && !this.guard.repeats(fresh)) {
        if (reason === undefined) state.failed.splice(at, 1);
        else state.failed[at] = { ...failure, reason, written: page.content.lines.length };
        await this.write([fresh], true);
      } else {
        this.monitor.pageFailed(this.clock.now(), reason ?? 'its records are all written already');
        state.failed[at] = { ...failure, reason: reason ?? 'its records are all written already' };
        await this.save(true);
      }
    }
  }

  /** Why a retried page is still not whole, or undefined when it is. */
  private stillMissing(state: IndexedState, index: number, page: PageResult): string | undefined {
    if (!page.ok) return page.reason;
    const expected = expectedRecords(state, this.config, index);
    const count = page.content.lines.length;
    if (count === 0) return 'empty again';
    if (expected !== undefined && count < expected.min) return `${count} of the ${expected.min} records the stated total (${state.total?.records}) puts on this page`;
    return undefined;
  }

  /** --max-pages reached: the harvest ends where it stands, as if the data did. */
  private reachedMaxPages(): boolean {
    const { maxPages } = this.config;
    if (maxPages === undefined || isDone(this.state) || attempted(this.state) < maxPages) return false;
    endHere(this.state);
    return true;
  }

  /**
   * The one commit: the records of the pages just recorded in the state, counted in it, and
   * the state, committed together by the writer; then each page reported done. The loop
   * guard learns them.
   */
  private async write(pages: readonly (readonly string[])[], failedChanged: boolean): Promise<void> {
    const { state } = this;
    const lengths = pages.map((lines) => ndjsonLength(lines));
    for (const [i, lines] of pages.entries()) {
      state.records += lines.length;
      state.bytes += lengths[i]!;
    }
    state.pages += pages.length;
    await this.writer.commit(pages.length === 1 ? pages[0]! : pages.flat(), state);
    for (const lines of pages) this.guard.written(lines);
    if (failedChanged) await this.writeFailedFile();
    const now = this.clock.now();
    pages.forEach((lines, i) => this.monitor.pageDone(now, lines.length, lengths[i]!));
  }

  /** Commits a change of state alone (a failure, a stop, the end). */
  private async save(failedChanged: boolean): Promise<void> {
    await this.write([], failedChanged);
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

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}
