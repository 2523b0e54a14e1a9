// Twin: src/store/lua/adaptation.ts (sent by src/store/redis-adaptation.ts) — what
// MemorySharedAdaptation does, in Lua on Redis; parity proven by
// test/store/redis/shared-adaptation.test.ts. Change both, or neither.
import { advance, type AdaptationInput, type AdaptationParams, type AdaptationState } from '../algorithms/rate-adaptation.js';

/**
 * SharedView: a fleet's adaptation state as one member sees it. Instants are given as ages
 * relative to the moment the shared state was read, on its own clock (Redis `TIME` for the
 * Redis store), so no two clocks in the fleet need agree.
 */
export interface SharedView {
  /** Requests per second the fleet paces at. */
  rate: number;
  mode: 'probing' | 'stated';
  /** CUBIC's maximum. */
  wMax: number;
  /** Milliseconds since the last cut; undefined when there has been none. */
  cutAgoMs?: number | undefined;
  /** Milliseconds since the last throttle that counted; undefined when there has been none. */
  throttleAgoMs?: number | undefined;
  /** Throttles in a row since the last success. */
  strikes: number;
  /** Milliseconds the fleet's pause still lasts; undefined when there is none. */
  pauseMs?: number | undefined;
  /** Cuts made so far. */
  cuts: number;
  /** Throttles counted so far: the generation of the last one. */
  generation: number;
}

/**
 * AdaptationProposal: what one fleet member saw since its last exchange, with every instant
 * as an age relative to its own `now` when it sent the proposal.
 */
export interface AdaptationProposal {
  /** This member's options; every member should use the same. */
  params: AdaptationParams;
  /** Successes counted since the last exchange, and how long ago the latest arrived. */
  successes: number;
  lastSuccessAgoMs: number;
  /**
   * A throttle: how long ago its request was sent, the server's own wait if any, and the
   * throttle generation this member knew when it sent the request (a refusal of a request
   * sent before the member heard of the last throttle is old news, and is ignored).
   */
  throttle?: { sentAgoMs: number; retryAfterMs?: number; knownGeneration?: number } | undefined;
  /** A limit the server stated, as requests per second (before floor and ceiling). */
  stated?: number | undefined;
  /** A pause the server asked for on a success (a quota at 0 until its reset). */
  pauseMs?: number | undefined;
  /** This member's own state, taken as the fleet's when there is none yet (first use, or it expired). */
  seed: SharedView;
}

/**
 * SharedAdaptation: where a fleet keeps one adaptation state. `propose` applies a member's
 * news to it atomically — the same `advance` a single process runs, on the shared clock —
 * and answers the state after it. Because the state decides, a throttle that several
 * members see at once cuts once: the first to arrive cuts, and the others' requests were
 * sent before that throttle arrived — or before their member heard of it (each throttle
 * states the generation its member knew) — so they are ignored as in one process.
 *
 * `propose` answers `undefined` when the shared state cannot be reached now (the member
 * then adapts alone), and must settle in bounded time. It should not reject; a rejection is
 * treated like `undefined`. The core knows only this interface: RedisStore implements it in
 * `sluice/redis`, MemorySharedAdaptation in one process.
 */
export interface SharedAdaptation {
  propose(proposal: AdaptationProposal, now: number): Promise<SharedView | undefined>;
}

/** A store that can keep shared adaptation state next to the limit of `key` (RedisStore). */
export interface SharedAdaptationSource {
  sharedAdaptation(key: string): SharedAdaptation;
}

export function isSharedAdaptationSource(value: unknown): value is SharedAdaptationSource {
  return typeof value === 'object' && value !== null && typeof (value as Partial<SharedAdaptationSource>).sharedAdaptation === 'function';
}

/**
 * MemorySharedAdaptation: one shared adaptation state in this process, on the `now` each
 * member passes (give them one Clock). For several AdaptiveRates over one RateLimiter or
 * one MemoryStore key, and as the reference the Redis script is tested against.
 */
export class MemorySharedAdaptation implements SharedAdaptation {
  private state: AdaptationState | undefined;

  propose(proposal: AdaptationProposal, now: number): Promise<SharedView> {
    const state = (this.state ??= stateFromView(proposal.seed, now));
    advance(state, inputFromProposal(proposal, now), proposal.params);
    return Promise.resolve(viewOf(state, now));
  }
}

/** A proposal's news as `advance`'s input, with its ages turned into instants at `now`. */
export function inputFromProposal(proposal: AdaptationProposal, now: number): AdaptationInput {
  const input: AdaptationInput = { now, successes: proposal.successes, lastSuccessAt: now - proposal.lastSuccessAgoMs };
  const { throttle } = proposal;
  if (throttle !== undefined) {
    input.throttle = { sentAt: now - throttle.sentAgoMs };
    if (throttle.retryAfterMs !== undefined) input.throttle.retryAfterMs = throttle.retryAfterMs;
    if (throttle.knownGeneration !== undefined) input.throttle.knownGeneration = throttle.knownGeneration;
  }
  if (proposal.stated !== undefined) input.stated = proposal.stated;
  if (proposal.pauseMs !== undefined) input.pauseMs = proposal.pauseMs;
  return input;
}

/** A state as seen at `now`. */
export function viewOf(s: AdaptationState, now: number): SharedView {
  const view: SharedView = { rate: s.rate, mode: s.mode, wMax: s.wMax, strikes: s.strikes, cuts: s.cuts, generation: s.generation };
  if (s.cutAt !== Number.NEGATIVE_INFINITY) view.cutAgoMs = now - s.cutAt;
  if (s.lastThrottleAt !== Number.NEGATIVE_INFINITY) view.throttleAgoMs = now - s.lastThrottleAt;
  if (s.pauseUntil > now) view.pauseMs = s.pauseUntil - now;
  return view;
}

/** A view as a state at `now` on the reader's clock; success counts start empty. */
export function stateFromView(v: SharedView, now: number): AdaptationState {
  const never = Number.NEGATIVE_INFINITY;
  return {
    rate: v.rate,
    mode: v.mode,
    wMax: v.wMax,
    cutAt: v.cutAgoMs === undefined ? never : now - v.cutAgoMs,
    lastThrottleAt: v.throttleAgoMs === undefined ? never : now - v.throttleAgoMs,
    strikes: v.strikes,
    pauseUntil: v.pauseMs === undefined ? never : now + v.pauseMs,
    bucketStart: never,
    current1s: 0,
    previous1s: 0,
    cuts: v.cuts,
    generation: v.generation,
  };
}
