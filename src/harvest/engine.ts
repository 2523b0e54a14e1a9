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
import { CommitBatch } from './commit-batch.js';
import { DurableFile, ndjsonOf, StreamSink, type RecordSink } from './output.js';
import { PageFetcher, type PageResult } from './page-fetcher.js';
import { linkNext } from './page-reader.js';
import { firstUrl, nextUrlOf, urlForIndex } from './page-urls.js';
import { restoreSecrets } from './secrets.js';
import { failedPathOf, freshState, loadState, serializeState, statePathOf, type FailedPage, type HarvestState } from './state.js';
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
      await writeAtomically(statePath, serializeState(state), deps.crash);
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
  private readonly byIndex: boolean;

  constructor(
    private readonly config: HarvestConfig,
    private readonly deps: HarvestDeps,
    private readonly state: HarvestState,
    private readonly sink: RecordSink,
    private readonly monitor: HarvestMonitor,
    private readonly signal: AbortSignal,
  ) {
    this.clock = deps.clock ?? systemClock;
    const limiter = config.rate ? new RateLimiter({ limits: config.rate, clock: this.clock, ...(config.store ? { store: config.store } : {}), ...(config.key ? { key: config.key } : {}) }) : undefined;
    this.limit = config.concurrency === 'auto' ? autoLimit(limiter) : undefined;
    this.byIndex = config.paginate === 'offset' || config.paginate === 'page';
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
    const wasComplete = state.done;
    // A page that failed while going one page at a time (cursor, link, or before a total was
    // known) stopped the harvest there: it is where this run resumes, not a page to skip.
    if (!state.done && state.totalPages === undefined) state.failed = [];
    this.reportTotals();
    await this.writeFailedFile();
    const retry = this.config.retryFailed && this.byIndex && state.failed.length > 0;
    if (retry) await this.retryFailed();
    while (!state.done) {
      this.signal.throwIfAborted();
      if (this.byIndex && state.totalPages !== undefined) await this.runParallel();
      else if (!(await this.step())) break;
    }
    return {
      records: state.records,
      pages: state.pages,
      bytes: state.bytes,
      failed: state.failed,
      complete: state.done,
      alreadyComplete: wasComplete && !retry,
    };
  }

  dispose(): void {
    this.fetcher.pause.dispose();
  }

  /** One page, in order: the first page, a cursor or link harvest, or offset/page before a total is known. False: stop this run. */
  private async step(): Promise<boolean> {
    const { state, config } = this;
    if (config.maxPages !== undefined && this.attempted() >= config.maxPages) return this.finish();
    if (state.nextUrl === null) return this.finish();
    const url = this.byIndex ? urlForIndex(config, state.nextIndex) : state.nextUrl === undefined ? firstUrl(config) : restoreSecrets(state.nextUrl, firstUrl(config));
    const result = await this.fetcher.fetch(url, this.signal);
    if (!result.ok) {
      this.monitor.pageFailed(this.clock.now(), result.reason);
      // Without a total there is no telling whether more pages follow this one: stop here.
      state.failed.push({ ...(this.byIndex ? { index: state.nextIndex } : {}), url: redactUrl(url), reason: result.reason });
      await this.save(true);
      return false;
    }
    const { items, totalRecords } = result.content;
    if (items.length === 0) return this.finish();
    if (totalRecords !== undefined && state.totalRecords === undefined && this.byIndex) {
      state.totalRecords = totalRecords;
      state.totalPages = Math.ceil(totalRecords / config.pageSize);
      this.reportTotals();
    }
    let next: string | undefined;
    let refusal: string | undefined;
    if (this.byIndex) {
      state.nextIndex++;
      if (config.next && result.content.next === undefined) state.done = true;
      if (state.totalPages !== undefined && state.nextIndex >= state.totalPages) state.done = true;
    } else {
      const pointer = config.paginate === 'link' ? (linkNext(result.headers.get('link'), result.url) ?? result.content.next) : result.content.next;
      try {
        next = pointer === undefined ? undefined : nextUrlOf(config, pointer, result.url);
        if (next === url) throw new RefusedError('the next page is the page itself');
      } catch (error) {
        if (!(error instanceof RefusedError)) throw error;
        refusal = error.message;
      }
      state.nextUrl = next === undefined ? null : redactUrl(next);
      if (next === undefined && refusal === undefined) state.done = true;
    }
    await this.commit(result);
    if (refusal !== undefined) {
      // Written, and the harvest cannot go on from here: say why, as a failure.
      this.monitor.pageFailed(this.clock.now(), refusal);
      state.failed.push({ url: redactUrl(url), reason: `after this page: ${refusal}` });
      state.nextUrl = redactUrl(url);
      state.done = false;
      await this.save(true);
      return false;
    }
    return true;
  }

  /**
   * offset/page with a known total: the rest of the pages, in parallel up to the
   * concurrency, written in order. Commits are grouped: the pages that finished while the
   * previous commit was on disk go in one append, one fsync and one state write — at 20
   * pages a second, three fsyncs a page would hold the flow back on a busy disk.
   */
  private async runParallel(): Promise<void> {
    const { state, config } = this;
    const end = Math.min(state.totalPages!, config.maxPages ?? Number.POSITIVE_INFINITY);
    const from = state.nextIndex;
    const controller = new AbortController();
    const stop = (): void => controller.abort(this.signal.reason);
    this.signal.addEventListener('abort', stop, { once: true });
    const batch = new CommitBatch<BatchEntry>((entries) => this.commitBatch(entries, end));
    try {
      const results = flow(range(from, end), (index: number, context) => this.fetcher.fetch(urlForIndex(config, index), context.signal), {
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
      if (!state.done && state.nextIndex >= end) await this.finish();
    } finally {
      controller.abort();
      this.signal.removeEventListener('abort', stop);
      await batch.flush().catch(() => {});
    }
  }

  /** Writes a run of pages in order: one append and fsync, then one state write. An empty page ends the harvest there. */
  private async commitBatch(entries: readonly BatchEntry[], end: number): Promise<void> {
    const { state, config } = this;
    const chunks: Buffer[] = [];
    const done: Array<[number, number]> = [];
    let failedChanged = false;
    for (const { index, page } of entries) {
      if (page.ok && page.content.items.length === 0) {
        state.done = true;
        break;
      }
      state.nextIndex = index + 1;
      if (page.ok) {
        const bytes = ndjsonOf(page.content.items);
        chunks.push(bytes);
        done.push([page.content.items.length, bytes.length]);
        state.records += page.content.items.length;
        state.pages++;
      } else {
        this.monitor.pageFailed(this.clock.now(), page.reason);
        state.failed.push({ index, url: redactUrl(urlForIndex(config, index)), reason: page.reason });
        failedChanged = true;
      }
      if (state.nextIndex >= end) state.done = true;
    }
    const bytes = Buffer.concat(chunks);
    if (bytes.length > 0) await this.sink.append(bytes);
    state.bytes += bytes.length;
    await this.save(failedChanged);
    const now = this.clock.now();
    for (const [records, size] of done) this.monitor.pageDone(now, records, size);
  }

  /** --retry-failed: the failed offset/page pages again, in parallel; each success is appended (after the rest). */
  private async retryFailed(): Promise<void> {
    const { state, config } = this;
    const pages = state.failed.filter((f) => f.index !== undefined).map((f) => f.index!);
    const results = flow(pages, (index: number, context) => this.fetcher.fetch(urlForIndex(config, index), context.signal), {
      concurrency: this.limit ?? (config.concurrency as number),
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
        await this.commit(page, true);
      } else {
        this.monitor.pageFailed(this.clock.now(), page.reason);
        state.failed[at] = { ...state.failed[at]!, reason: page.reason };
        await this.save(true);
      }
    }
  }

  /** Appends a page's records (durably), then records them in the state. */
  private async commit(page: Extract<PageResult, { ok: true }>, failedChanged = false): Promise<void> {
    const bytes = ndjsonOf(page.content.items);
    await this.sink.append(bytes);
    this.state.bytes += bytes.length;
    this.state.records += page.content.items.length;
    this.state.pages++;
    await this.save(failedChanged);
    this.monitor.pageDone(this.clock.now(), page.content.items.length, bytes.length);
  }

  private async finish(): Promise<false> {
    this.state.done = true;
    await this.save(false);
    return false;
  }

  private async save(failedChanged: boolean): Promise<void> {
    if (this.config.out === undefined) return;
    await writeAtomically(statePathOf(this.config.out), serializeState(this.state), this.deps.crash);
    if (failedChanged) await this.writeFailedFile();
  }

  /** `<out>.failed.ndjson`: the failed pages with their reasons, rewritten whole from the state (which is the truth). */
  private async writeFailedFile(): Promise<void> {
    if (this.config.out === undefined) return;
    const path = failedPathOf(this.config.out);
    if (this.state.failed.length === 0) {
      await unlink(path).catch(() => {});
      return;
    }
    const lines = this.state.failed.map((f) => JSON.stringify({ page: f.index ?? null, url: f.url ?? null, reason: f.reason }));
    await writeAtomically(path, `${lines.join('\n')}\n`);
  }

  /** Pages fetched so far, written or failed: what --max-pages counts. */
  private attempted(): number {
    return this.byIndex ? this.state.nextIndex : this.state.pages + this.state.failed.length;
  }

  private reportTotals(): void {
    const { totalPages, totalRecords } = this.state;
    if (totalPages === undefined && totalRecords === undefined) return;
    const pages = this.config.maxPages === undefined ? totalPages : Math.min(totalPages ?? Number.POSITIVE_INFINITY, this.config.maxPages);
    this.monitor.totals(this.clock.now(), { ...(pages !== undefined ? { pages } : {}), ...(totalRecords !== undefined ? { records: totalRecords } : {}) });
  }
}

interface BatchEntry {
  index: number;
  page: PageResult;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}
