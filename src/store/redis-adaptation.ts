import type { AdaptationProposal, SharedAdaptation, SharedView } from './shared-adaptation.js';
import { ADAPT } from './lua/adaptation.js';
import { UNAVAILABLE, type ScriptRunner } from './redis-runner.js';

/**
 * How long a fleet's adaptation state outlives its last exchange: a fleet idle longer
 * starts again from a member's own state (its seed).
 */
export const ADAPTATION_TTL_MS = 10 * 60_000;

/**
 * RedisSharedAdaptation: a fleet's adaptation state in one Redis hash, `prefix{key}:adapt`,
 * next to the limit keys of the same limiter (same prefix and hash tag, so the same Cluster
 * slot). Each `propose` is one EVALSHA of the `adapt` script on Redis's clock; it answers
 * `undefined` whenever the store's runner finds Redis unavailable (down, slow, stale).
 * Made by `RedisStore.sharedAdaptation(key)`.
 */
export class RedisSharedAdaptation implements SharedAdaptation {
  constructor(
    private readonly runner: ScriptRunner,
    private readonly key: string,
    private readonly options: { callerClock: boolean; ttlFloor: string },
  ) {}

  async propose(proposal: AdaptationProposal, now: number): Promise<SharedView | undefined> {
    const { params: p, throttle, seed } = proposal;
    const args = [
      this.key,
      this.options.callerClock ? String(now) : '',
      '',
      this.options.ttlFloor,
      String(ADAPTATION_TTL_MS),
      String(p.ceiling),
      String(p.min),
      String(p.beta),
      String(p.scale),
      String(p.backoffMs),
      String(p.maxPauseMs),
      String(proposal.successes),
      String(proposal.lastSuccessAgoMs),
      throttle === undefined ? '' : String(throttle.sentAgoMs),
      throttle?.retryAfterMs === undefined ? '' : String(throttle.retryAfterMs),
      optional(proposal.stated),
      optional(proposal.pauseMs),
      String(seed.rate),
      seed.mode,
      String(seed.wMax),
      optional(seed.cutAgoMs),
      optional(seed.throttleAgoMs),
      String(seed.strikes),
      optional(seed.pauseMs),
      String(seed.cuts),
      String(seed.generation),
      throttle?.knownGeneration === undefined ? '' : String(throttle.knownGeneration),
    ];
    const reply = await this.runner.run(ADAPT, 1, args);
    return reply === UNAVAILABLE ? undefined : parseView(reply);
  }
}

function optional(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

function parseView(reply: string[]): SharedView {
  const [, , rate, mode, wMax, cutAgo, throttleAgo, strikes, pauseLeft, cuts, generation] = reply;
  const view: SharedView = {
    rate: Number(rate),
    mode: mode === 'stated' ? 'stated' : 'probing',
    wMax: Number(wMax),
    strikes: Number(strikes),
    cuts: Number(cuts),
    generation: Number(generation),
  };
  if (cutAgo !== '') view.cutAgoMs = Number(cutAgo);
  if (throttleAgo !== '') view.throttleAgoMs = Number(throttleAgo);
  if (pauseLeft !== '') view.pauseMs = Number(pauseLeft);
  return view;
}
