import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { invoke } from '../core/invoke.js';
import type { Subscribe } from '../core/events.js';
import { checkName, resilienceChannel, Telemetry } from '../core/telemetry.js';
import { LatencyWindow } from './latency.js';
import type { Policy, PolicyContext } from './policy.js';
import { Context, isAborted, parentOf, reasonOf, Scope } from './scope.js';

/** Samples a percentile hedge needs before it trusts them; before that it uses `delayMs`. */
const MIN_SAMPLES = 20;

export interface HedgeOptions {
  /** Wait this long for an attempt before starting the next. Required unless `percentile` is set. */
  delayMs?: Duration | undefined;
  /**
   * Hedge after this quantile of recent successful latencies, e.g. 0.95. Until 20 have been
   * seen it waits `delayMs`, or does not hedge at all when `delayMs` is unset.
   */
  percentile?: number | undefined;
  /** Extra attempts at most, beyond the first. Default 1. */
  maxHedges?: number | undefined;
  clock?: Clock | undefined;
  /** What this policy is called in events and metrics (a label: few and stable). Default 'hedge'. */
  name?: string | undefined;
}

/**
 * Emitted when a hedged attempt starts (Polly's OnHedging): `hedge` is 1 for the first extra
 * attempt. Published on `sluice:resilience` too.
 */
export interface HedgeEvent {
  type: 'hedge';
  /** The policy's name. */
  policy: string;
  hedge: number;
  /** What started it: the previous attempt was slow (`delay`) or failed (`failure`). */
  trigger: 'delay' | 'failure';
}

/**
 * HedgePolicy: when a call is slow, starts another copy of it without cancelling the
 * first, takes the first success and aborts the rest. A failure starts the next hedge at
 * once (if any remain); the call fails only when every attempt has failed, with the last
 * error. Hedging trades load for tail latency: use it for idempotent reads, and count on
 * up to `1 + maxHedges` times the calls.
 *
 * All attempts share the caller's `attempt` number. Aborting the caller aborts every
 * attempt and rejects with its reason. When the call settles, timers are cancelled,
 * losers aborted and listeners removed.
 */
export class HedgePolicy implements Policy {
  private readonly delayMs: number;
  private readonly maxHedges: number;
  private readonly latencies: LatencyWindow | undefined;
  private readonly clock: Clock;
  private readonly hedgeEvents = new Telemetry<HedgeEvent>(resilienceChannel);
  /** What this policy is called in events and metrics. */
  readonly name: string;
  /** Subscribes to hedges; returns the disposer. */
  readonly onHedge: Subscribe<HedgeEvent> = this.hedgeEvents.subscribe;

  constructor(options: HedgeOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    const { percentile } = options;
    if (percentile !== undefined && !(typeof percentile === 'number' && percentile > 0 && percentile < 1)) {
      throw new ConfigError('percentile', percentile, 'must be a number between 0 and 1, e.g. 0.95');
    }
    if (options.delayMs === undefined && percentile === undefined) throw new ConfigError('delayMs', undefined, 'set delayMs or percentile');
    this.delayMs = options.delayMs === undefined ? Number.POSITIVE_INFINITY : parseDuration(options.delayMs, 'delayMs');
    this.maxHedges = options.maxHedges ?? 1;
    if (!(Number.isInteger(this.maxHedges) && this.maxHedges >= 0)) throw new ConfigError('maxHedges', options.maxHedges, 'must be an integer >= 0');
    this.latencies = percentile === undefined ? undefined : new LatencyWindow(percentile);
    this.clock = options.clock ?? systemClock;
    this.name = checkName(options.name, 'hedge');
  }

  /** The current wait before a hedge: the percentile once known, else `delayMs` (Infinity: never). */
  get currentDelayMs(): number {
    const learned = this.latencies?.value(MIN_SAMPLES) ?? Number.NaN;
    return Number.isNaN(learned) ? this.delayMs : learned;
  }

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const parent = parentOf(context);
    if (isAborted(parent)) return Promise.reject(reasonOf(parent!));
    const attempt = context?.attempt ?? 1;
    const delayMs = this.currentDelayMs;
    // One scope for the call (follows the caller), one per attempt under it.
    const call = new Scope(parent);
    return new Promise<T>((resolve, reject) => {
      const attempts: Scope[] = [];
      let timer: Timer | undefined;
      let running = 0;
      let settled = false;

      const finish = (): void => {
        settled = true;
        timer?.cancel();
        call.release();
      };
      call.listen((reason) => {
        if (settled) return;
        finish();
        reject(reason);
      });
      const launch = (trigger: HedgeEvent['trigger']): void => {
        timer?.cancel();
        timer = undefined;
        const hedge = attempts.length;
        const scope = new Scope(call);
        attempts.push(scope);
        running++;
        if (hedge > 0 && this.hedgeEvents.active) this.hedgeEvents.emit({ type: 'hedge', policy: this.name, hedge, trigger });
        const startedAt = this.clock.now();
        invoke(() => fn(new Context(scope, attempt))).then(
          (value) => {
            running--;
            if (settled) return;
            this.latencies?.add(this.clock.now() - startedAt);
            finish();
            if (attempts.length > 1) {
              const lost = new DOMException('hedge: another attempt won', 'AbortError');
              for (const other of attempts) if (other !== scope) other.abort(lost);
            }
            resolve(value);
          },
          (error: unknown) => {
            running--;
            if (settled) return;
            if (attempts.length <= this.maxHedges) launch('failure');
            else if (running === 0) {
              finish();
              reject(error);
            }
          },
        );
        if (!settled && attempts.length <= this.maxHedges && Number.isFinite(delayMs)) {
          timer = this.clock.timer(() => {
            timer = undefined;
            if (!settled) launch('delay');
          }, delayMs);
        }
      };
      launch('delay');
    });
  }
}

/** hedge: a HedgePolicy; see HedgeOptions. */
export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}
