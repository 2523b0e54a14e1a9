import { createHash } from 'node:crypto';
import { StateRefusedError } from '../harvest-errors.js';
import type { StateCodec } from '../sinks/sink.js';
import type { ResolvedPagination, ResourceConfig } from './source-config.js';

/**
 * ResourceState: what one resource of a source has committed, kept by its sink beside its
 * records and committed with them in one step. A resource is fetched in syncs: a sync is
 * one pass over the resource — for a child, over the parent records of the parent's
 * latest sync; for an incremental resource, from its cursor (less the lag) on.
 */
export interface ResourceState {
  records: number;
  bytes: number;
  /** Pages committed, in all syncs. */
  pages: number;
  /** The sync under way or last done. */
  sync: SyncState;
  /** Incremental: the largest cursor value among the committed records; undefined before the first. */
  cursor?: string | number | undefined;
  /** A parent in a database or Parquet sink: the length of its local log of records (fanout-log.ts), which its children read. */
  log?: number | undefined;
  /** `auto` pagination: what the first page showed, so every later page and run uses the same. */
  detected?: ResolvedPagination | undefined;
}

export interface SyncState {
  /** Syncs counted from 1: a child compares its parent's, to know when the parent has synced again. */
  number: number;
  /** `pages` of the resource when this sync began. */
  pagesAtStart: number;
  /** Incremental: the value this sync asks from (`since`). */
  since?: string | number | undefined;
  /**
   * A child: which of the parent's syncs it runs over — the parent's latest, begun and not
   * necessarily finished (a child follows its parent's commits); the parent's `start` then.
   */
  parentSync?: number | undefined;
  /** The resource's own byte length when this sync began: its records of this sync come after it (its children read them). */
  start: number;
  /** The same in its log (fanout-log.ts), when it keeps one. */
  logStart?: number | undefined;
  /**
   * A child: parent records of that sync, counted from its start, whose children are
   * committed, in order. Never more than the parent has committed (a child reads committed
   * parent records only), so it holds whichever of the two a crash interrupted.
   */
  parentsDone?: number | undefined;
  /** A parent-less resource: the engine's state of this sync (state-file.ts), as its codec wrote it. */
  harvest?: string | undefined;
  /** Parent records whose children could not be fetched whole, with why (at most MAX_FAILED listed). */
  failed: { parent: number; reason: string }[];
  complete: boolean;
}

/** Failed parents listed in the state, at most: the rest are counted in the summary only. */
export const MAX_FAILED = 100;

/** The state's fingerprint covers what would make old records another resource's: the path, params, pagination, parent. */
export function resourceFingerprint(r: ResourceConfig): string {
  const shape = { path: r.path, params: r.params, pagination: r.pagination, items: r.items, parent: r.parent, include: r.include, incremental: r.incremental && { cursorPath: r.incremental.cursorPath, param: r.incremental.param } };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

/** The codec a sink stores a resource's state with: JSON, its version and fingerprint checked. */
export function resourceCodec(r: ResourceConfig): StateCodec<ResourceState> {
  const fingerprint = resourceFingerprint(r);
  return {
    encode: (state) => JSON.stringify({ version: 1, resource: r.name, fingerprint, ...state }),
    decode(text, where) {
      let file: unknown;
      try {
        file = JSON.parse(text);
      } catch {
        throw new StateRefusedError(where, 'is not a source resource state (not JSON); remove it to start over');
      }
      const f = file as Partial<ResourceState> & { version?: unknown; resource?: unknown; fingerprint?: unknown };
      if (f.version !== 1 || f.resource !== r.name) throw new StateRefusedError(where, `is not the state of resource ${r.name}; remove it to start over`);
      if (f.fingerprint !== fingerprint) throw new StateRefusedError(where, `belongs to another definition of resources.${r.name} (its path, params, pagination or parent changed); remove it to start over`);
      const whole = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      const sync = f.sync as SyncState | undefined;
      if (!whole(f.records) || !whole(f.bytes) || !whole(f.pages) || typeof sync !== 'object' || sync === null || !whole(sync.start) || !whole(sync.number) || !whole(sync.pagesAtStart) || typeof sync.complete !== 'boolean' || !Array.isArray(sync.failed)) {
        throw new StateRefusedError(where, 'has a damaged field (records, bytes, pages or sync); remove it to start over');
      }
      if (f.log !== undefined && !whole(f.log)) throw new StateRefusedError(where, 'has a damaged field (log); remove it to start over');
      if (sync.start > f.bytes!) throw new StateRefusedError(where, 'says its sync began after its records end; remove it to start over');
      return { records: f.records!, bytes: f.bytes!, pages: f.pages!, sync, ...(f.cursor === undefined ? {} : { cursor: f.cursor }), ...(f.detected === undefined ? {} : { detected: f.detected }), ...(f.log === undefined ? {} : { log: f.log }) };
    },
  };
}
