import type { CircuitState } from './breaker.js';

/** How one call through a breaker ended: its verdict, or refused because the breaker was open (or its probes taken). */
export type CallOutcome = 'success' | 'failure' | 'ignored' | 'rejected';

/**
 * BreakerEvent: a call through a breaker (with how long it ran; 0 for a refusal) or a change
 * of state — Polly's OnCircuitOpened / OnCircuitHalfOpened / OnCircuitClosed. Published on
 * `sluice:breaker` too, each naming its breaker.
 */
export type BreakerEvent =
  | { readonly type: 'call'; readonly breaker: string; readonly outcome: CallOutcome; readonly durationMs: number; readonly state: CircuitState }
  | { readonly type: 'state'; readonly breaker: string; readonly state: CircuitState; readonly from: CircuitState };

/** What a breaker has seen since it was made: every call by outcome, and how often it opened. */
export interface BreakerStats {
  readonly name: string;
  readonly state: CircuitState;
  readonly calls: { readonly [K in CallOutcome]: number };
  /** Times it opened (isolate included); unlike the backoff's count, never reset by closing. */
  readonly opened: number;
}

/** The counts behind BreakerStats. */
export class CallCounts {
  success = 0;
  failure = 0;
  ignored = 0;
  rejected = 0;
  opened = 0;

  /** Counts `outcome`. */
  add(outcome: CallOutcome): void {
    this[outcome]++;
  }

  snapshot(): BreakerStats['calls'] {
    return { success: this.success, failure: this.failure, ignored: this.ignored, rejected: this.rejected };
  }
}
