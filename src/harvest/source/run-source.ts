import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { flow } from '../../flow/flow.js';
import { sustainedRatePerMs } from '../../flow/options.js';
import type { FetchFn } from '../../http/fetch-options.js';
import { RateLimiter } from '../../limiters/rate-limiter.js';
import type { CrashHook } from '../crash-points.js';
import { CommitBatch } from '../commit-batch.js';
import { Harvest } from '../engine.js';
import type { Gap } from '../gaps.js';
import { LoopGuard } from '../loop-guard.js';
import type { HarvestMonitor } from '../monitor.js';
import { NdjsonSink } from '../sinks/ndjson.js';
import { ndjsonLength, type ResourceWriter, type Sink } from '../sinks/sink.js';
import { ParentFieldError } from './placeholders.js';
import { maxCursor, sinceOf, withParentFields } from './records-of.js';
import { sourceFetch } from './request-gates.js';
import { harvestConfigOf } from './resource-harvest.js';
import { MAX_FAILED, resourceCodec, type ResourceState, type SyncState } from './resource-state.js';
import type { ResolvedPagination, ResourceConfig, SourceConfig } from './source-config.js';
import { detectPagination } from './detect-pagination.js';
import { SubSink } from './sub-sink.js';
import { scrub } from '../secrets.js';
import { LoggedWriter } from './fanout-log.js';
import { CommittedFeed, FeedWriter } from './committed-feed.js';
import type { FlowStats } from '../../flow/types.js';
import type { SourceActivity } from './source-activity.js';

export interface SourceDeps {
  clock: Clock;
  fetch?: FetchFn | undefined;
  monitor: HarvestMonitor;
  signal: AbortSignal;
  /** Test hook: called at each instant of a commit (see crash-points.ts). */
  crash?: CrashHook | undefined;
  /** Where records and states go instead of NDJSON files in the directory (a database, Parquet); the caller closes it. */
  sink?: Sink | undefined;
}

/** What one resource's run achieved; counts include earlier runs. */
export interface ResourceOutcome {
  name: string;
  records: number;
  pages: number;
  /** Records committed by this run. */
  added: number;
  /** The sync reached its end (failed parents and pages are listed, not waited for). */
  complete: boolean;
  /** What is known missing: failed parents, incomplete pages. */
  incomplete: string[];
  /** Whether this run had anything to do (a new sync, or one resumed). */
  synced: boolean;
}

/** Parent records whose children are fetched at once when the client's concurrency is `auto` and no rate sizes it. */
const AUTO_CHILDREN = 8;
/**
 * With a rate, `auto` fetches the children of as many parents at once as the rate starts in
 * this long — Little's law for a parent whose pages take up to 6 s in all (they go one after
 * another, each waiting its turn in the shared limiter), so slow answers do not leave the
 * budget unused; at most 256, as each holds its children in memory. Why 6 s, not the 4 s
 * that covers the answers alone: the parents move through the limiter's queue in cohorts of
 * this size, and the flow takes a new parent only as one ends, so the last cohort's pages
 * come last, each after its previous page's answer — with too small a cohort the limiter
 * then had free slots and nothing to start (0.4–0.5 s of a two-minute run at 200 parents,
 * none to 0.2 s at 256: bench/source.bench.ts, "the end").
 */
const AUTO_CHILDREN_COVER_MS = 6000;
const MAX_AUTO_CHILDREN = 256;
/** Parents started and not yet committed, per parent fetched at once (see runChildren). */
const WINDOW_PER_PARENT = 3;

/**
 * SourceRun: every resource of a source, each into its own NDJSON file in `outDir`
 * (`<resource>.ndjson` and its state file), under one rate limiter shared by every request.
 * A child is fetched for each record of its parent's latest sync as soon as that record is
 * committed — beside the parent's pagination, not after it — several parents at once, and
 * committed in parent order, the children's records and the resource's state together — so
 * a crash loses at most the children in flight, which the next run fetches again; never a
 * committed parent's, never the tree.
 * A parent-less resource resumes inside its pages (the engine's own state rides in the
 * resource's). An incremental resource asks from its cursor less the lag, and the cursor
 * moves only with records committed.
 */
export class SourceRun {
  private readonly states = new Map<string, ResourceState>();
  /** Each resource with children: what it has committed, for them to follow. */
  private readonly feeds = new Map<string, CommittedFeed>();
  /** Each child resource whose sync runs: its flow of parent records and its commits (for `activity`). */
  private readonly childRuns = new Map<string, { parent: string; stats: () => FlowStats; committing: () => boolean }>();
  /** The rate limiter every request of the source shares; undefined without a rate. */
  readonly limiter: RateLimiter | undefined;
  private readonly fetch: FetchFn;
  readonly sink: Sink;

  constructor(
    private readonly source: SourceConfig,
    private readonly outDir: string,
    private readonly deps: SourceDeps,
  ) {
    const { client } = source;
    this.limiter = client.rate ? new RateLimiter({ limits: client.rate, clock: deps.clock, ...(client.arrivalJitterMs === undefined ? {} : { arrivalJitter: client.arrivalJitterMs }) }) : undefined;
    this.fetch = sourceFetch(client, deps.fetch ?? ((input, init) => globalThis.fetch(input, init)), deps.clock, this.limiter).fetch;
    this.sink = deps.sink ?? new NdjsonSink({ pathOf: (name) => this.fileOf(name), field: '--out', crash: deps.crash });
  }

  /** What the run is doing now (SourceActivity): read when asked, nothing kept for it. */
  activity(): SourceActivity {
    let parentsCommitting = 0;
    for (const feed of this.feeds.values()) if (feed.committing) parentsCommitting++;
    return {
      limiterWaiting: this.limiter?.stats().waiting ?? 0,
      parentsCommitting,
      children: [...this.childRuns].map(([name, { parent, stats, committing }]) => {
        const feed = this.feeds.get(parent)!;
        const { inFlight, concurrency, waiting, buffered } = stats();
        return { name, awaitingParent: feed.awaited, parentRunning: feed.isRunning, flow: { inFlight, concurrency, waiting, buffered }, committing: committing() };
      }),
    };
  }

  fileOf(resource: string): string {
    return join(this.outDir, `${resource}.ndjson`);
  }

  /**
   * The records of `r`'s parent's current sync for `r`'s sync (its `parentSync`), from the
   * `skip`th on, as the parent commits them: its NDJSON file, or its log beside another sink.
   */
  private parentRecords(r: ResourceConfig, skip: number, signal: AbortSignal): AsyncGenerator<{ index: number; text: string }> {
    const name = r.parent!;
    const { sync } = this.states.get(name)!;
    const feed = this.feeds.get(name)!;
    if (this.deps.sink === undefined) return feed.follow(this.fileOf(name), sync.start, skip, signal);
    return feed.follow(join(this.outDir, `${name}.parents.ndjson`), sync.logStart ?? 0, skip, signal);
  }

  /**
   * Runs the source in passes until none has work. In a pass each resource, parents first,
   * resumes a sync left unfinished or starts a new one if it wants one (wantsNewSync), and
   * runs it beside the others: a child's sync follows its parent's commits while the parent
   * still paginates (streaming fan-out, CommittedFeed), and ends once the parent's sync has
   * stopped and every parent record committed is done — complete if the parent's end is
   * committed, else left open for the next run (the parent stopped at a page). A resource
   * with children starts a new sync only once they have finished the one they run over, so
   * no child's work is abandoned half done; that is what the passes are for. A resource that
   * ends a pass unfinished is left for the next run. Stops at the first error it cannot go
   * past (an abort, an I/O error): the others are aborted, and it is thrown once all have
   * stopped, so no writer closes under a running sync.
   */
  async run(): Promise<ResourceOutcome[]> {
    const slots: Slot[] = [];
    const failed = new AbortController();
    const signal = AbortSignal.any([this.deps.signal, failed.signal]);
    try {
      for (const r of this.source.resources) slots.push(await this.openSlot(r));
      for (let progress = true; progress; ) {
        progress = false;
        const running: Promise<void>[] = [];
        let first: { error: unknown } | undefined;
        const fail = (error: unknown): void => {
          first ??= { error };
          failed.abort(error);
        };
        for (const slot of slots) {
          if (signal.aborted) break;
          if (slot.stuck) continue;
          if (slot.state.sync.complete) {
            if (!this.wantsNewSync(slot, slots)) continue;
            // Committed before any child looks: a child's sync names this one, which must be on disk first.
            slot.state = { ...slot.state, sync: this.newSync(slot.r, slot.state) };
            slot.ranNew = true;
            this.states.set(slot.r.name, slot.state);
            try {
              await slot.writer.commit([], slot.state);
            } catch (error) {
              fail(error);
              break;
            }
          }
          progress = true;
          running.push(this.runSync(slot, signal).catch(fail));
        }
        await Promise.all(running);
        if (first) throw first.error;
        this.deps.signal.throwIfAborted();
      }
      return slots.map((slot) => ({
        name: slot.r.name,
        records: slot.state.records,
        pages: slot.state.pages,
        added: slot.state.records - slot.before,
        complete: slot.state.sync.complete,
        incomplete: [...slot.open, ...slot.state.sync.failed.map((f) => (f.parent < 0 ? `resources.${slot.r.name}: ${f.reason}` : `resources.${slot.r.name}: the children of ${slot.r.parent} record ${f.parent + 1}: ${f.reason}`))],
        synced: slot.synced,
      }));
    } finally {
      for (const slot of slots) await slot.writer.close();
    }
  }

  private async openSlot(r: ResourceConfig): Promise<Slot> {
    const opened = await this.sink.open({
      name: r.name,
      codec: resourceCodec(r),
      tailRecords: LoopGuard.tailRecords,
      primaryKey: r.primaryKey,
      // A key given is a record's identity: a record fetched again (a change, a boundary re-read) replaces it where the sink can.
      write: r.primaryKey ? 'merge' : 'append',
    });
    const hasChildren = this.source.resources.some((c) => c.parent === r.name);
    let writer: ResourceWriter<ResourceState> = opened;
    if (hasChildren) {
      // Children read a parent back from its NDJSON file, or beside another sink from its log: the feed says how far either is committed.
      const logged = this.deps.sink !== undefined;
      const feed = new CommittedFeed(logged ? (s) => s.log ?? 0 : (s) => s.bytes);
      this.feeds.set(r.name, feed);
      writer = new FeedWriter(logged ? new LoggedWriter(opened, join(this.outDir, `${r.name}.parents.ndjson`), this.deps.crash) : opened, feed);
    }
    try {
      const saved = await writer.resume();
      const state: ResourceState = saved?.state ?? { records: 0, bytes: 0, pages: 0, sync: { number: 0, pagesAtStart: 0, start: 0, failed: [], complete: true } };
      this.states.set(r.name, state);
      return { r, writer, state, before: state.records, lastRecords: saved?.lastRecords ?? [], open: [], ranNew: false, stuck: false, synced: false };
    } catch (error) {
      await writer.close();
      throw error;
    }
  }

  /** Runs `slot`'s sync to its end or to where it stops; its children follow its commits meanwhile (its feed runs). */
  private async runSync(slot: Slot, signal: AbortSignal): Promise<void> {
    const { r, state, writer } = slot;
    const feed = this.feeds.get(r.name);
    feed?.started();
    slot.synced = true;
    try {
      if (r.parent === undefined) {
        // The records at the end of the file teach the loop guard only when resuming inside the sync they belong to.
        const last = state.sync.harvest === undefined ? [] : slot.lastRecords;
        slot.open.push(...(await this.runOwn(r, state, writer, last, signal)).map((text) => `resources.${r.name}: ${text}`));
      } else await this.runChildren(r, state, writer, signal);
    } finally {
      feed?.stopped();
    }
    slot.lastRecords = [];
    if (!state.sync.complete) slot.stuck = true;
  }

  /**
   * Whether a finished resource syncs again now: never twice in a run; a child when its
   * parent has begun a newer sync (finished or not: the child follows it as it goes); a
   * resource never synced, once its parent has begun one; an incremental one on every run —
   * once every resource below it has finished what it runs over.
   */
  private wantsNewSync(slot: Slot, slots: readonly Slot[]): boolean {
    const { r, state } = slot;
    if (slot.ranNew) return false;
    if (r.parent !== undefined) {
      const parentSync = slots.find((s) => s.r.name === r.parent)!.state.sync.number;
      if (parentSync === 0) return false;
      if (state.sync.parentSync !== parentSync) return true;
    }
    if (state.sync.number === 0) return true;
    return r.incremental !== undefined && descendantsOf(r.name, slots).every((d) => d.state.sync.complete);
  }

  private newSync(r: ResourceConfig, state: ResourceState): SyncState {
    const inc = r.incremental;
    return {
      number: state.sync.number + 1,
      pagesAtStart: state.pages,
      start: state.bytes,
      ...(state.log === undefined ? {} : { logStart: state.log }),
      ...(inc ? { since: state.cursor === undefined ? inc.initialValue : sinceOf(state.cursor, inc.lag) } : {}),
      ...(r.parent === undefined ? {} : { parentSync: this.states.get(r.parent)!.sync.number, parentsDone: 0 }),
      failed: [],
      complete: false,
    };
  }

  /** A parent-less resource: one engine harvest, resumed inside its pages. */
  private async runOwn(r: ResourceConfig, state: ResourceState, writer: ResourceWriter<ResourceState>, lastRecords: string[], signal: AbortSignal): Promise<string[]> {
    const pagination = await this.paginationOf(r, state, undefined, signal);
    const config = { ...harvestConfigOf(this.source, r, { out: undefined, since: state.sync.since, pagination }), adaptive: false };
    const sub = new SubSink(state.sync.harvest, lastRecords, async (records, harvest) => {
      state.records += records.length;
      state.bytes += ndjsonLength(records);
      state.pages = state.sync.pagesAtStart + (JSON.parse(harvest) as { pages: number }).pages;
      if (r.incremental) state.cursor = maxCursor(records, r.incremental.cursorPath, state.cursor);
      // Reasons and shown URLs in the engine's state may hold a value taken from the environment (a key in a query parameter).
      state.sync.harvest = scrub(harvest, this.source.secrets);
      await writer.commit(records, state);
    });
    const harvest = await Harvest.open(config, { sink: sub, clock: this.deps.clock, fetch: this.fetch, limiter: this.limiter, priority: this.priorityOf(r) });
    try {
      const outcome = await harvest.run(this.deps.monitor, signal);
      // Stopped at a page: the sync stays open, and the next run goes on from that page.
      if (!outcome.complete) return outcome.gaps.map((g) => this.gapText(g));
      state.sync.failed = outcome.gaps.slice(0, MAX_FAILED).map((g) => ({ parent: -1, reason: this.gapText(g) }));
      state.sync.complete = true;
      await writer.commit([], state);
      return [];
    } finally {
      await harvest.close();
    }
  }

  /**
   * A child: for each record of the parent's sync it runs over not yet done — those
   * committed, then each as the parent commits it — an engine harvest of the child's pages
   * into memory, several at once; committed in parent order. `parentsDone` counts the parent
   * records of that sync, from its start, whose children are committed: never more than the
   * parent has committed, as the child reads only committed ones, so it holds across a crash
   * of either. The sync is complete when the parent's is, committed, and every record of it
   * done; if the parent stopped short (a page it could not get), it stays open, and the next
   * run goes on from `parentsDone` beside the parent's resumed sync.
   */
  private async runChildren(r: ResourceConfig, state: ResourceState, writer: ResourceWriter<ResourceState>, signal: AbortSignal): Promise<void> {
    const parents = this.parentRecords(r, state.sync.parentsDone ?? 0, signal);
    const concurrency = this.childConcurrency();
    let detected: Promise<ResolvedPagination> | undefined;
    const results = flow(parents, async ({ text }, context) => {
      // An `auto` pagination is detected once, on the first parent's children, before the rest start.
      detected ??= this.paginationOf(r, state, JSON.parse(text) as unknown, signal);
      return this.childrenOf(r, text, state.sync.since, await detected, context.signal);
    }, {
      concurrency,
      ordered: true,
      // Parents done and held for their turn behind a slow one, besides those in flight: while
      // the first waits its turn in the limiter's queue and its answer (up to a concurrency's
      // worth of turns, then the latency), about as many others finish. The flow's default
      // (twice the concurrency) left no room past that: the flow stopped starting parents,
      // and the budget idled (0.56 % of the 1M-record source's run: BENCHMARKS.md).
      window: WINDOW_PER_PARENT * concurrency,
      clock: this.deps.clock,
      signal,
    });
    // The parents done while the previous commit was on disk go in one commit: one fsync per
    // parent would hold the flow back on a busy disk, as it would the engine's pages.
    const batch = new CommitBatch<{ index: number; records: string[]; pages: number; failure?: string | undefined }>(async (done) => {
      const records = done.flatMap((d) => d.records);
      for (const { index, pages, failure } of done) {
        state.pages += pages;
        state.sync.parentsDone = index + 1;
        if (failure !== undefined && state.sync.failed.length < MAX_FAILED) state.sync.failed.push({ parent: index, reason: failure });
      }
      state.records += records.length;
      state.bytes += ndjsonLength(records);
      if (r.incremental) state.cursor = maxCursor(records, r.incremental.cursorPath, state.cursor);
      await writer.commit(records, state);
    });
    this.childRuns.set(r.name, { parent: r.parent!, stats: () => results.stats(), committing: () => batch.busy });
    try {
      for await (const result of results) {
        if (!result.ok) throw result.error; // the worker rejects only on abort or an I/O error
        await batch.add({ index: result.input.index, ...result.value });
      }
      await batch.flush();
    } finally {
      await batch.flush().catch(() => {});
      this.childRuns.delete(r.name);
    }
    if (!this.feeds.get(r.parent!)!.completed(state.sync.parentSync)) return;
    state.sync.complete = true;
    await writer.commit([], state);
  }

  /**
   * The pagination of `r`: its own; for `auto`, what its state kept, or what its first page
   * shows — one request, taken from the rate limit like any other, kept in the state with the
   * next commit so every later page and run paginates the same way.
   */
  private async paginationOf(r: ResourceConfig, state: ResourceState, parent: unknown, signal: AbortSignal): Promise<ResolvedPagination> {
    const p = r.pagination;
    if (p.type !== 'auto') return p;
    if (state.detected !== undefined) return state.detected;
    const bare: ResolvedPagination = { type: 'link', nextUrlPath: undefined, limitParam: undefined, limit: p.limit, maxPages: p.maxPages };
    const probe = harvestConfigOf(this.source, r, { out: undefined, parent, since: state.sync.since, pagination: bare });
    const url = probe.template.fill({});
    await this.limiter?.acquire({ signal });
    const response = await this.fetch(url, { method: probe.method ?? 'GET', headers: probe.body === undefined ? probe.headers : { 'content-type': 'application/json', ...probe.headers }, body: probe.body, signal });
    const text = await response.text();
    const fail = (why: string): never => {
      throw new DetectionError(`resources.${r.name}: its pagination is auto, and its first page ${why}; name its pagination.type in the file`);
    };
    if (!response.ok) fail(`answered HTTP ${response.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      fail('is not JSON');
    }
    const detected = detectPagination(body, response.headers, url, p.limit, p.maxPages);
    state.detected = detected;
    return detected;
  }

  /** Parents whose children are fetched at once: the client's number, or for `auto` sized by the rate (see AUTO_CHILDREN_COVER_MS). */
  private childConcurrency(): number {
    const { concurrency } = this.source.client;
    if (typeof concurrency === 'number') return concurrency;
    if (this.limiter === undefined) return AUTO_CHILDREN;
    return Math.min(MAX_AUTO_CHILDREN, Math.max(AUTO_CHILDREN, Math.ceil(sustainedRatePerMs(this.limiter) * AUTO_CHILDREN_COVER_MS)));
  }

  /**
   * A resource's place in the shared limiter's queue: a resource that others fan out from
   * goes ahead of its children. Why: its next page is what gives the children more to fetch,
   * and behind them in the queue it waited its turn after every child already queued — with
   * one-page children, 256 of them — so the children ran out of work before it came back and
   * the budget idled (10 % of the 1M-record source's time: BENCHMARKS.md, a source at its
   * shared budget). Its pages are few beside its children's, so they take little from them.
   */
  private priorityOf(r: ResourceConfig): number {
    return this.source.resources.some((c) => c.parent === r.name) ? 1 : 0;
  }

  /** A gap as a line to show: redacted of every value taken from the environment. */
  private gapText(gap: Gap): string {
    return scrub(describeGap(gap), this.source.secrets);
  }

  /** The children of one parent record: every page, held in memory until their turn to be committed. */
  private async childrenOf(r: ResourceConfig, parentText: string, since: string | number | undefined, pagination: ResolvedPagination, signal: AbortSignal): Promise<{ records: string[]; pages: number; failure?: string }> {
    const parent = JSON.parse(parentText) as unknown;
    let config;
    try {
      config = { ...harvestConfigOf(this.source, r, { out: undefined, parent, since, pagination }), adaptive: false };
    } catch (error) {
      if (error instanceof ParentFieldError) return { records: [], pages: 0, failure: scrub(error.message, this.source.secrets) };
      throw error;
    }
    const records: string[] = [];
    const sub = new SubSink(undefined, [], (page) => {
      for (const record of page) records.push(withParentFields(record, parent, r.parent!, r.include));
      return Promise.resolve();
    });
    const harvest = await Harvest.open(config, { sink: sub, clock: this.deps.clock, fetch: this.fetch, limiter: this.limiter, priority: this.priorityOf(r) });
    try {
      const outcome = await harvest.run(this.deps.monitor, signal);
      const gaps = outcome.gaps.map((g) => this.gapText(g));
      if (!outcome.complete && gaps.length === 0) gaps.push('stopped before its last page');
      return { records, pages: outcome.pages, ...(gaps.length > 0 ? { failure: gaps.join('; ') } : {}) };
    } finally {
      await harvest.close();
    }
  }
}

/** A resource whose `auto` pagination could not be detected: it cannot be harvested until its type is named. */
export class DetectionError extends Error {
  override name = 'DetectionError';
}

/** One resource in a run: its writer, its state, and what this run did with it. */
interface Slot {
  r: ResourceConfig;
  writer: ResourceWriter<ResourceState>;
  state: ResourceState;
  /** Records when the run began. */
  before: number;
  /** The last committed records, for the loop guard of a resumed sync. */
  lastRecords: string[];
  /** Why a sync of this run ended short (stopped at a page). */
  open: string[];
  ranNew: boolean;
  /** Ended this run unfinished: left for the next. */
  stuck: boolean;
  synced: boolean;
}

/** The resources below `name`: its children, theirs, and so on. */
function descendantsOf(name: string, slots: readonly Slot[]): Slot[] {
  const children = slots.filter((s) => s.r.parent === name);
  return [...children, ...children.flatMap((c) => descendantsOf(c.r.name, slots))];
}

function describeGap(g: Gap): string {
  switch (g.kind) {
    case 'failed':
      return `${g.pages} page(s) failed or came back short`;
    case 'stopped':
      return `stopped at ${g.url}: ${g.reason}; run the same command again to go on from there`;
    case 'short-of-total':
      return `${g.written} of the ${g.stated} records the server stated`;
  }
}
