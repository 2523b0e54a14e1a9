import type { LimitSpec } from '../../algorithms/limit-spec.js';

/**
 * LimitLua: one algorithm's Lua, as fragments that the rate scripts paste in once per limit
 * of a request, with `$` replaced by the limit's position (1-based): its key is `KEYS[$]`,
 * its numbers and state are locals suffixed with it (`tat1`, `e1`, …). Inlined rather than
 * called: Redis runs a script's whole body on every call, so every function definition and
 * every table costs on every call.
 *
 * Each algorithm's file names its TypeScript twin in src/algorithms/ in its header.
 *
 * Each fragment runs with `now`, `cost`, `EPS`, `INF` and `ttl(ms)` in scope (preamble.ts,
 * rate.ts);
 * `wait` sets the local `w`; `refund` may read `at` (the decision time of the start to give
 * back, or nil for the newest), and `charge` reads it (the start that used the units; `now`
 * for usage of the moment). `load` runs for every limit before any other fragment.
 */
export interface LimitLua {
  /**
   * The limit's numbers, in order: the rate scripts' contract (rate.ts) declares each as an
   * ARGV field read into the local `name$`.
   */
  readonly params: readonly { readonly name: string; readonly about: string }[];
  /** The numbers of `spec`, in the order of `params`; `startLagMs` is the store's start lag. */
  values(spec: LimitSpec, startLagMs: number): number[];
  /** Reads the state (declares its locals). */
  readonly load: string;
  /** Sets `w`: ms until `cost` fits (0 = now, INF = never). May tidy the state (expiry). */
  readonly wait: string;
  /** After a refusal: stores what `load`/`wait` changed that must outlive it. */
  readonly save: string;
  /**
   * Records `cost` at `now` and stores the state, leaving the locals true to it: reserveMany
   * may run `wait` and `take` again, and `save`, in the same script.
   */
  readonly take: string;
  /** Gives `cost` back (LimitState.refund) and stores the state. */
  readonly refund: string;
  /** Records `cost` used by the start decided at `at` (LimitState.charge) and stores the state. */
  readonly charge: string;
}

/** `lua` indented by two spaces, to paste inside a block. */
export function indented(lua: string): string {
  return lua.replace(/\n/g, '\n  ');
}
