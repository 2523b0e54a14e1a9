import type { AdaptationProposal, SharedAdaptation, SharedView } from './shared-adaptation.js';
import { ADAPT, adaptArgv, readView } from './lua/adaptation.js';
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
 *
 * Its in-process twin is MemorySharedAdaptation (shared-adaptation.ts); the script's, `advance`
 * in src/algorithms/rate-adaptation.ts; parity proven by test/store/redis/shared-adaptation.test.ts.
 */
export class RedisSharedAdaptation implements SharedAdaptation {
  private readonly keys: readonly string[];

  constructor(
    private readonly runner: ScriptRunner,
    key: string,
    private readonly options: { callerClock: boolean; ttlFloor: string },
  ) {
    this.keys = [key];
  }

  async propose(proposal: AdaptationProposal, now: number): Promise<SharedView | undefined> {
    const { params: p, throttle, seed } = proposal;
    const argv = adaptArgv(this.options.callerClock ? String(now) : '', this.options.ttlFloor, {
      stateTtlMs: ADAPTATION_TTL_MS,
      ceiling: p.ceiling,
      min: p.min,
      beta: p.beta,
      scale: p.scale,
      backoffMs: p.backoffMs,
      maxPauseMs: p.maxPauseMs,
      successes: proposal.successes,
      lastSuccessAgoMs: proposal.lastSuccessAgoMs,
      throttleSentAgoMs: throttle?.sentAgoMs,
      retryAfterMs: throttle?.retryAfterMs,
      stated: proposal.stated,
      pauseMs: proposal.pauseMs,
      seedRate: seed.rate,
      seedMode: seed.mode,
      seedWMax: seed.wMax,
      seedCutAgoMs: seed.cutAgoMs,
      seedThrottleAgoMs: seed.throttleAgoMs,
      seedStrikes: seed.strikes,
      seedPauseMs: seed.pauseMs,
      seedCuts: seed.cuts,
      seedGeneration: seed.generation,
      knownGeneration: throttle?.knownGeneration,
    });
    const reply = await this.runner.run(ADAPT, this.keys, argv);
    return reply === UNAVAILABLE ? undefined : readView(reply);
  }
}
