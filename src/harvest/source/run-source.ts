import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { flow } from '../../flow/flow.js';
import type { FetchFn } from '../../http/fetch-options.js';
import { RateLimiter } from '../../limiters/rate-limiter.js';
import { Harvest } from '../engine.js';
import type { Gap } from '../gaps.js';
import { LoopGuard } from '../loop-guard.js';
import type { HarvestMonitor } from '../monitor.js';
import { NdjsonSink } from '../sinks/ndjson.js';
import { ndjsonLength, type ResourceWriter, type Sink } from '../sinks/sink.js';
import { ParentFieldError } from './placeholders.js';
import { maxCursor, recordsBetween, sinceOf, withParentFields } from './records-of.js';
import { sourceFetch } from './request-gates.js';
import { harvestConfigOf } from './resource-harvest.js';
import { MAX_FAILED, resourceCodec, type ResourceState, type SyncState } from './resource-state.js';
import type { ResourceConfig, SourceConfig } from './source-config.js';
import { SubSink } from './sub-sink.js';

export interface SourceDeps {
  clock: Clock;
  fetch?: FetchFn | undefined;
  monitor: HarvestMonitor;
  signal: AbortSignal;
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

/** Parent records whose children are fetched at once when the client's concurrency is `auto`. */
const AUTO_CHILDREN = 8;

/**
 * SourceRun: every resource of a source, parents before children, each into its own NDJSON
 * file in `outDir` (`<resource>.ndjson` and its state file), under one rate limiter shared by
 * every request. A child is fetched for each record of its parent's latest sync, several
 * parents at once, and committed in parent order — one commit per parent record, its
 * records and the resource's state together — so a crash loses at most the children in
 * flight, which the next run fetches again; never a committed parent's, never the tree.
 * A parent-less resource resumes inside its pages (the engine's own state rides in the
 * resource's). An incremental resource asks from its cursor less the lag, and the cursor
 * moves only with records committed.
 */
export class SourceRun {
  private readonly states = new Map<string, ResourceState>();
  private readonly limiter: RateLimiter | undefined;
  private readonly fetch: FetchFn;
  readonly sink: Sink;

  constructor(
    private readonly source: SourceConfig,
    private readonly outDir: string,
    private readonly deps: SourceDeps,
  ) {
    const { client } = source;
    this.limiter = client.rate ? new RateLimiter({ limits: client.rate, clock: deps.clock }) : undefined;
    this.fetch = sourceFetch(client, deps.fetch ?? ((input, init) => globalThis.fetch(input, init)), deps.clock, this.limiter).fetch;
    this.sink = new NdjsonSink({ pathOf: (name) => this.fileOf(name), field: '--out' });
  }

  fileOf(resource: string): string {
    return join(this.outDir, `${resource}.ndjson`);
  }

  /** Runs every resource in order; stops at the first that cannot go on (an abort, an I/O error). */
  async run(): Promise<ResourceOutcome[]> {
    const outcomes: ResourceOutcome[] = [];
    for (const resource of this.source.resources) {
      this.deps.signal.throwIfAborted();
      outcomes.push(await this.runResource(resource));
    }
    return outcomes;
  }

  private async runResource(r: ResourceConfig): Promise<ResourceOutcome> {
    const writer = await this.sink.open({
      name: r.name,
      codec: resourceCodec(r),
      tailRecords: LoopGuard.tailRecords,
      primaryKey: r.primaryKey,
      write: r.incremental && r.primaryKey ? 'merge' : 'append',
    });
    try {
      const saved = await writer.resume();
      let state: ResourceState = saved?.state ?? { records: 0, bytes: 0, pages: 0, sync: { number: 0, pagesAtStart: 0, start: 0, failed: [], complete: true } };
      const before = state.records;
      const open: string[] = [];
      const synced = saved === undefined || !state.sync.complete || this.wantsNewSync(r, state);
      if (synced && (saved === undefined || state.sync.complete)) {
        state = { ...state, sync: this.newSync(r, state) };
        await writer.commit([], state);
      }
      if (synced) {
        this.states.set(r.name, state);
        if (r.parent === undefined) open.push(...(await this.runOwn(r, state, writer, state.sync.harvest === undefined ? [] : (saved?.lastRecords ?? []))).map((text) => `resources.${r.name}: ${text}`));
        else await this.runChildren(r, state, writer);
      }
      this.states.set(r.name, state);
      return {
        name: r.name,
        records: state.records,
        pages: state.pages,
        added: state.records - before,
        complete: state.sync.complete,
        incomplete: [...open, ...state.sync.failed.map((f) => (f.parent < 0 ? `resources.${r.name}: ${f.reason}` : `resources.${r.name}: the children of ${r.parent} record ${f.parent + 1}: ${f.reason}`))],
        synced,
      };
    } finally {
      await writer.close();
    }
  }

  /** A resource synced before syncs again when its parent has, or when it is incremental (each run asks what changed). */
  private wantsNewSync(r: ResourceConfig, state: ResourceState): boolean {
    if (r.parent !== undefined && state.sync.parentSync !== this.states.get(r.parent)?.sync.number) return true;
    return r.incremental !== undefined;
  }

  private newSync(r: ResourceConfig, state: ResourceState): SyncState {
    const inc = r.incremental;
    return {
      number: state.sync.number + 1,
      pagesAtStart: state.pages,
      start: state.bytes,
      ...(inc ? { since: state.cursor === undefined ? inc.initialValue : sinceOf(state.cursor, inc.lag) } : {}),
      ...(r.parent === undefined ? {} : { parentSync: this.states.get(r.parent)!.sync.number, parentsDone: 0 }),
      failed: [],
      complete: false,
    };
  }

  /** A parent-less resource: one engine harvest, resumed inside its pages. */
  private async runOwn(r: ResourceConfig, state: ResourceState, writer: ResourceWriter<ResourceState>, lastRecords: string[]): Promise<string[]> {
    const config = { ...harvestConfigOf(this.source, r, { out: undefined, since: state.sync.since }), adaptive: false };
    const sub = new SubSink(state.sync.harvest, lastRecords, async (records, harvest) => {
      state.records += records.length;
      state.bytes += ndjsonLength(records);
      state.pages = state.sync.pagesAtStart + (JSON.parse(harvest) as { pages: number }).pages;
      if (r.incremental) state.cursor = maxCursor(records, r.incremental.cursorPath, state.cursor);
      state.sync.harvest = harvest;
      await writer.commit(records, state);
    });
    const harvest = await Harvest.open(config, { sink: sub, clock: this.deps.clock, fetch: this.fetch, limiter: this.limiter });
    try {
      const outcome = await harvest.run(this.deps.monitor, this.deps.signal);
      // Stopped at a page: the sync stays open, and the next run goes on from that page.
      if (!outcome.complete) return outcome.gaps.map(gapText);
      state.sync.failed = outcome.gaps.slice(0, MAX_FAILED).map((g) => ({ parent: -1, reason: gapText(g) }));
      state.sync.complete = true;
      await writer.commit([], state);
      return [];
    } finally {
      await harvest.close();
    }
  }

  /**
   * A child: for each record of the parent's latest sync not yet done, an engine harvest of
   * the child's pages into memory, several at once; committed in parent order.
   */
  private async runChildren(r: ResourceConfig, state: ResourceState, writer: ResourceWriter<ResourceState>): Promise<void> {
    const parent = this.states.get(r.parent!)!;
    const done = state.sync.parentsDone ?? 0;
    const parents = numbered(recordsBetween(this.fileOf(r.parent!), parent.sync.start, parent.bytes), done);
    const concurrency = typeof this.source.client.concurrency === 'number' ? this.source.client.concurrency : AUTO_CHILDREN;
    const results = flow(parents, ({ text }, context) => this.childrenOf(r, text, state.sync.since, context.signal), {
      concurrency,
      ordered: true,
      clock: this.deps.clock,
      signal: this.deps.signal,
    });
    for await (const result of results) {
      if (!result.ok) throw result.error; // the worker rejects only on abort or an I/O error
      const { records, pages, failure } = result.value;
      state.records += records.length;
      state.bytes += ndjsonLength(records);
      state.pages += pages;
      if (r.incremental) state.cursor = maxCursor(records, r.incremental.cursorPath, state.cursor);
      state.sync.parentsDone = result.input.index + 1;
      if (failure !== undefined && state.sync.failed.length < MAX_FAILED) state.sync.failed.push({ parent: result.input.index, reason: failure });
      await writer.commit(records, state);
    }
    state.sync.complete = true;
    await writer.commit([], state);
  }

  /** The children of one parent record: every page, held in memory until their turn to be committed. */
  private async childrenOf(r: ResourceConfig, parentText: string, since: string | number | undefined, signal: AbortSignal): Promise<{ records: string[]; pages: number; failure?: string }> {
    const parent = JSON.parse(parentText) as unknown;
    let config;
    try {
      config = { ...harvestConfigOf(this.source, r, { out: undefined, parent, since }), adaptive: false };
    } catch (error) {
      if (error instanceof ParentFieldError) return { records: [], pages: 0, failure: error.message };
      throw error;
    }
    const records: string[] = [];
    const sub = new SubSink(undefined, [], (page) => {
      for (const record of page) records.push(withParentFields(record, parent, r.parent!, r.include));
      return Promise.resolve();
    });
    const harvest = await Harvest.open(config, { sink: sub, clock: this.deps.clock, fetch: this.fetch, limiter: this.limiter });
    try {
      const outcome = await harvest.run(this.deps.monitor, signal);
      const gaps = outcome.gaps.map(gapText);
      if (!outcome.complete && gaps.length === 0) gaps.push('stopped before its last page');
      return { records, pages: outcome.pages, ...(gaps.length > 0 ? { failure: gaps.join('; ') } : {}) };
    } finally {
      await harvest.close();
    }
  }
}

async function* numbered(lines: AsyncIterable<string>, skip: number): AsyncGenerator<{ index: number; text: string }> {
  let index = 0;
  for await (const text of lines) {
    if (index >= skip) yield { index, text };
    index++;
  }
}

function gapText(g: Gap): string {
  switch (g.kind) {
    case 'failed':
      return `${g.pages} page(s) failed or came back short`;
    case 'stopped':
      return `stopped at ${g.url}: ${g.reason}; run the same command again to go on from there`;
    case 'short-of-total':
      return `${g.written} of the ${g.stated} records the server stated`;
  }
}
