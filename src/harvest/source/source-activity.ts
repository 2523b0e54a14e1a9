import type { FlowStats } from '../../flow/types.js';

/**
 * SourceActivity: what a source run is doing at one instant — read on demand
 * (SourceRun.activity), never kept, so a run nobody watches pays nothing for it. Its use is
 * to name why the shared rate limiter had a free slot and nobody to start on it
 * (bench/source.bench.ts): every such slot is time the budget allowed and the run lost.
 */
export interface SourceActivity {
  /** Callers queued in the shared rate limiter: with one due, a free slot is a late wake (the event loop), not a lack of work. */
  limiterWaiting: number;
  /** Each child resource whose sync runs: its flow of parents. */
  children: ChildActivity[];
  /** Parent resources committing now: a child waiting for a parent's records waits on this commit. */
  parentsCommitting: number;
}

export interface ChildActivity {
  name: string;
  /** Followers of the parent's commits waiting for the next one: no parent record left to fetch children for. */
  awaitingParent: boolean;
  /** The parent's sync still runs (its records may yet come), as the feed knows it. */
  parentRunning: boolean;
  /** The flow of parent records: workers in flight, its cap, results held for order. */
  flow: Pick<FlowStats, 'inFlight' | 'concurrency' | 'waiting' | 'buffered'>;
  /** A commit of children is on its way to disk. */
  committing: boolean;
}
