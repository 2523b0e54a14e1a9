import { backgroundTimer, runsInRealTime, systemClock, type Clock, type Timer } from '../core/clock.js';
import { untilAborted } from '../core/until-aborted.js';
import { ConfigError } from '../core/errors.js';
import { Emitter, type Subscribe } from '../core/events.js';
import type { LimitInput, LimitSpec } from '../algorithms/limit-spec.js';
import { inputOf, RateAdaptation, type AdaptationInput, type RateAdaptationOptions, type RateSignal, type RateStep } from '../algorithms/rate-adaptation.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';
import { ownFill, SendLog } from './send-log.js';
import { FirstAnswer } from './first-answer.js';
import { isSharedAdaptationSource, stateFromView, viewOf, type AdaptationProposal, type SharedAdaptation, type SharedView } from '../store/shared-adaptation.js';

/**
 * Generations remembered to tell which one a request's member knew when it was sent: a
 * response older than the last few changes (a few throttles later) is rare, and then counts.
 */
const LEARNED_KEPT = 8;

/** The least interval of the exchanges made for callers waiting in the limiter (syncMs may be 0). */
const MIN_BEAT_MS = 10;

/** Answered sends remembered to tell whether a server's `remaining: 0` is of our own making (4 KB). */
const SENDS_KEPT = 512;
/** Sending at this share of the rate in force or more fills a window that states no limit. */
const FULL_SHARE = 0.9;

/** The grid the fleet's rate is applied on: steps of half a percent. */
const LOG_STEP = Math.log(1.005);

export type AdaptiveRateOptions = Omit<RateAdaptationOptions, 'initial'> & {
  clock?: Clock | undefined;
  /**
   * Where a fleet shares its adapted rate. Default: the limiter's store when it can keep
   * shared state (a RedisStore, under the limiter's key); otherwise none. `false` adapts
   * in this process alone even over a RedisStore.
   */
  shared?: SharedAdaptation | false | undefined;
  /** With shared state: exchange news (and the successes counted) at least this often while busy. Default 100 ms. */
  syncMs?: number | undefined;
  /**
   * The first caller of `admit` goes alone, and its start is counted in the limiter's windows
   * from its answer (the first `observe`), as sluiceFetch's first request is (FirstAnswer):
   * the first request of a process reaches the server late for its start-up (its client
   * warming, its connection opening), later than the arrival jitter the windows count, and
   * counted from its start it would leave our window before the server's. The others wait
   * for that answer — at most `FIRST_WAIT_MS`, after which they go and the count stays
   * where it is. Default: true on real time, false on virtual time (ManualClock), where
   * nothing starts late; sluiceFetch, which does this per attempt, turns it off.
   */
  firstAnswer?: boolean | undefined;
};

/** The longest callers wait for the first answer (a request that is never answered, say). */
const FIRST_WAIT_MS = 1000;

/**
 * Where adaptation stands: `'none'` — no shared state, this process adapts alone by design;
 * `'shared'` — the last exchange with the fleet's state was answered; `'local'` — it was
 * not (the store is unreachable), so this process adapts alone until an exchange succeeds.
 */
export type Sharing = 'none' | 'shared' | 'local';

export interface SharingChange {
  sharing: 'shared' | 'local';
  /** Why the last exchange failed, when it rejected rather than answered "unavailable". */
  error?: unknown | undefined;
}

export interface AdaptiveRateStats {
  sharing: Sharing;
  /** Exchanges with the shared state sent, and those it did not answer. */
  exchanges: number;
  unavailable: number;
  /** Cuts made so far: the fleet's count when shared. */
  cuts: number;
}

/**
 * AdaptiveRate: applies RateAdaptation's steps to a RateLimiter. The limiter's pacing limit
 * (the one with the shortest interval) starts as configured and is its ceiling; the new
 * rate replaces it through `setLimits`, and longer limits (an hourly cap) stay as they are.
 * A pause is kept here rather than in the limiter: `admit` waits it out before and after
 * taking its turn, so callers queued during a pause are paced on resumption, not released
 * in a burst.
 *
 * **A fleet adapts together** when the limiter's store keeps shared state (RedisStore) or
 * `shared` is given: the rate, the pause, the CUBIC epoch and the run of throttles then live
 * in one shared state that every member reads and writes (`SharedAdaptation`). A throttle,
 * a stated limit or a requested pause is sent at once; successes are counted here and sent
 * with the next exchange, at least every `syncMs` while requests flow — not one round trip
 * per request. Each answer is applied through `setLimits`, so every member paces at the
 * fleet's rate. The first `admit` waits for the first answer. While the shared state cannot
 * be reached, this process adapts alone from the last state it saw, says so
 * (`onSharingChange`, `stats().sharing`), and keeps trying; requests never fail for it.
 * When an exchange succeeds again the fleet's state wins.
 *
 * One AdaptiveRate per server (or per API key): what one server says about its limit says
 * nothing about another's.
 */
export class AdaptiveRate {
  readonly limiter: RateLimiter;
  /** Subscribes to changes between `'shared'` and `'local'`. */
  readonly onSharingChange: Subscribe<SharingChange>;
  private readonly logic: RateAdaptation;
  private readonly clock: Clock;
  private readonly pacing: LimitSpec;
  private readonly others: readonly LimitSpec[];
  private applied: number;
  private readonly shared: SharedAdaptation | undefined;
  private readonly syncMs: number;
  private sharing: Sharing;
  private readonly sharingChanges = new Emitter<SharingChange>();
  /** Successes not yet reported to the shared state, and when the latest arrived. */
  private pending = 0;
  private lastSuccessAt = Number.NEGATIVE_INFINITY;
  private lastExchangeAt = Number.NEGATIVE_INFINITY;
  private syncing = false;
  private first: Promise<void> | undefined;
  private sent = 0;
  private answered = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Callers waiting in the limiter, and the timer that keeps the fleet's state fresh for them. */
  private queued = 0;
  private heartbeat: Timer | undefined;
  /** The fleet's throttle generations this member learned, and when (this clock): the latest few. */
  private readonly learned: { generation: number; at: number }[] = [];
  private readonly counters = { exchanges: 0, unavailable: 0 };
  private readonly answeredSends = new SendLog(SENDS_KEPT);
  private readonly firstAnswer: FirstAnswer | undefined;
  /** While the first caller's request is out: gives up waiting for its answer. */
  private firstTimer: Timer | undefined;

  constructor(limiter: RateLimiter, options: AdaptiveRateOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('adaptive', options, 'must be an object or true');
    this.limiter = limiter;
    this.clock = options.clock ?? systemClock;
    const specs = limiter.limits;
    const shortest = Math.min(...specs.map((s) => s.intervalMs));
    this.pacing = specs.find((s) => s.intervalMs === shortest)!;
    this.others = specs.filter((s) => s !== this.pacing);
    this.applied = (this.pacing.limit * 1000) / this.pacing.intervalMs;
    const { clock: _clock, shared, syncMs, firstAnswer, ...adaptation } = options;
    // Start-up lateness is real time's: on virtual time (ManualClock) nothing goes alone unless asked.
    this.firstAnswer = (firstAnswer ?? runsInRealTime(this.clock)) ? FirstAnswer.for(limiter) : undefined;
    this.logic = new RateAdaptation({ ...adaptation, initial: this.applied });
    this.shared = sharedFor(limiter, shared);
    this.sharing = this.shared === undefined ? 'none' : 'shared';
    this.syncMs = syncMs ?? 100;
    if (!(this.syncMs >= 0 && Number.isFinite(this.syncMs))) throw new ConfigError('syncMs', syncMs, 'must be a finite number >= 0');
    this.onSharingChange = this.sharingChanges.subscribe;
  }

  /** The current rate (requests per second), pause and mode. */
  get step(): RateStep {
    return this.logic.current;
  }

  /**
   * Whether the rate in force is the one the server is believed to allow — the configured
   * rate (never cut, or climbed back to it) or a limit the server stated — rather than a
   * probe below an unknown limit after a cut. A refusal then may be uneven arrivals rather
   * than too high a rate (ArrivalMargin).
   */
  get atLimit(): boolean {
    const { mode, rate } = this.logic.current;
    return mode === 'stated' || rate >= this.logic.params.ceiling * (1 - 1e-9);
  }

  stats(): AdaptiveRateStats {
    return { sharing: this.sharing, ...this.counters, cuts: this.logic.state.cuts };
  }

  /**
   * Waits out any pause, then the limiter's turn; if a pause began while it queued (a 429
   * arrived meanwhile), waits that out too and queues again. With shared state, the first
   * call waits for the fleet's state first; until the first answer, callers go one at a time
   * (AdaptiveRateOptions.firstAnswer). Rejects with the signal's reason.
   */
  async admit(signal?: AbortSignal, cost = 1): Promise<void> {
    if (this.firstAnswer?.waiting && (await this.firstAnswer.enter(signal))) {
      const first = this.firstAnswer;
      this.firstTimer = backgroundTimer(this.clock, () => first.skip(), FIRST_WAIT_MS);
    }
    if (this.shared !== undefined) {
      this.first ??= this.exchange({});
      await untilAborted(this.first, signal);
    }
    for (;;) {
      this.syncIfDue();
      if (this.sharing === 'shared') this.applyShared(this.logic.rateAt(this.clock.now()));
      await this.waitPause(signal);
      await this.acquire(signal, cost);
      if (this.logic.current.pauseUntil <= this.clock.now()) return;
    }
  }

  /**
   * The limiter's turn. With shared state, while callers wait in the limiter the fleet's
   * state is still exchanged every `syncMs` and its rate applied: otherwise a member whose
   * callers all wait — its limit below the others', so the shared window always looks full to
   * it — would never learn the fleet's rate and never start again.
   */
  private async acquire(signal: AbortSignal | undefined, cost: number): Promise<void> {
    const options = cost === 1 && signal === undefined ? undefined : { cost, signal };
    if (this.shared === undefined) return this.limiter.acquire(options);
    this.queued++;
    this.heartbeat ??= this.clock.timer(this.beat, Math.max(this.syncMs, MIN_BEAT_MS));
    try {
      await this.limiter.acquire(options);
    } finally {
      if (--this.queued === 0) {
        this.heartbeat?.cancel();
        this.heartbeat = undefined;
      }
    }
  }

  private readonly beat = (): void => {
    this.heartbeat = undefined;
    if (this.queued === 0) return;
    this.syncIfDue();
    if (this.sharing === 'shared') this.applyShared(this.logic.rateAt(this.clock.now()));
    this.heartbeat = this.clock.timer(this.beat, Math.max(this.syncMs, MIN_BEAT_MS));
  };

  /**
   * Feeds one response's signal in. Alone, the step is applied at once. With shared state,
   * a server-requested pause holds this process at once, and the fleet's answer to the news
   * is applied when it arrives (a throttle's cut included); the step returned is the one
   * known now.
   */
  observe(signal: RateSignal): RateStep {
    if (this.firstTimer !== undefined) this.firstHeard();
    signal = this.ownExhaustionCleared(signal);
    if (this.shared === undefined) return this.observeAlone(signal);
    const input = inputOf(signal, this.logic.params);
    const alone = this.sharing === 'local';
    if (alone) this.observeAlone(signal);
    else {
      if (input.throttle?.retryAfterMs !== undefined) this.logic.hold(input.now, input.throttle.retryAfterMs);
      if (input.pauseMs !== undefined) this.logic.hold(input.now, input.pauseMs);
    }
    if (input.successes > 0) {
      this.pending += input.successes;
      this.lastSuccessAt = input.now;
    }
    // News the fleet does not answer is taken alone, as if there were no fleet.
    if (this.isNews(input)) void this.exchange(input, alone ? undefined : signal);
    else this.syncIfDue();
    return this.logic.current;
  }

  /**
   * Exchanges with the shared state now — sends the successes counted, reads the fleet's
   * state — and resolves once every exchange in flight has been answered (or found the
   * shared state unreachable). For tests and orderly shutdown; does nothing without shared
   * state.
   */
  async sync(): Promise<void> {
    if (this.shared === undefined) return;
    void this.exchange({});
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** The first caller's answer: its count moves to now, then the others go. */
  private firstHeard(): void {
    this.firstTimer!.cancel();
    this.firstTimer = undefined;
    const first = this.firstAnswer!;
    first.heard().then(
      () => first.leave(),
      () => first.skip(),
    );
  }

  /**
   * A `remaining: 0` on a success that this process's own answered sends explain (ownFill:
   * the server's stated limit of them, else 90 % of the rate in force, within the server's
   * window or the pacing interval) is dropped: pacing at the limit fills the server's window
   * regularly, and a pause until its reset each time cost a third of the rate. The sends
   * counted are those answered so far — fewer than were sent — so the doubt goes to the
   * pause, as before.
   */
  private ownExhaustionCleared(signal: RateSignal): RateSignal {
    this.answeredSends.add(signal.sentAt);
    if (signal.remaining !== 0 || signal.throttled) return signal;
    const { limit, intervalMs, jitterMs } = this.limiter.limits.find((s) => s.intervalMs === this.pacing.intervalMs) ?? this.pacing;
    if (!ownFill(this.answeredSends, signal.sentAt, signal.limit ?? Math.ceil(FULL_SHARE * limit), signal.windowMs ?? intervalMs, jitterMs ?? 0)) return signal;
    return { ...signal, remaining: undefined };
  }

  private observeAlone(signal: RateSignal): RateStep {
    const step = this.logic.observe(signal);
    this.apply(step.rate);
    return step;
  }

  /** A throttle, a pause, or a stated limit other than the one in force: the fleet must hear at once. */
  private isNews(input: AdaptationInput): boolean {
    if (input.throttle !== undefined || input.pauseMs !== undefined) return true;
    if (input.stated === undefined) return false;
    const { ceiling, min } = this.logic.params;
    const { mode, rate } = this.logic.current;
    return mode !== 'stated' || Math.abs(Math.min(ceiling, Math.max(min, input.stated)) - rate) > rate * 1e-9;
  }

  private syncIfDue(): void {
    if (this.shared === undefined || this.syncing || this.clock.now() - this.lastExchangeAt < this.syncMs) return;
    this.syncing = true;
    void this.exchange({}).finally(() => (this.syncing = false));
  }

  /**
   * Sends `news` and the successes counted to the shared state, and applies its answer; if
   * there is none, observes `unanswered` (the signal the news came from) alone.
   */
  private exchange(news: Pick<AdaptationInput, 'throttle' | 'stated' | 'pauseMs'>, unanswered?: RateSignal): Promise<void> {
    const shared = this.shared!;
    const now = this.clock.now();
    const proposal: AdaptationProposal = {
      params: this.logic.params,
      successes: this.pending,
      lastSuccessAgoMs: this.pending > 0 ? now - this.lastSuccessAt : 0,
      seed: viewOf(this.logic.state, now),
    };
    if (news.throttle !== undefined) {
      const { sentAt, retryAfterMs } = news.throttle;
      proposal.throttle = { sentAgoMs: now - sentAt };
      if (retryAfterMs !== undefined) proposal.throttle.retryAfterMs = retryAfterMs;
      const known = this.knownWhen(sentAt);
      if (known !== undefined) proposal.throttle.knownGeneration = known;
    }
    if (news.stated !== undefined) proposal.stated = news.stated;
    if (news.pauseMs !== undefined) proposal.pauseMs = news.pauseMs;
    this.pending = 0;
    this.lastExchangeAt = now;
    this.counters.exchanges++;
    const seq = ++this.sent;
    let answer: Promise<SharedView | undefined>;
    try {
      answer = shared.propose(proposal, now);
    } catch (error) {
      answer = Promise.reject(error);
    }
    const done = answer.then(
      (view) => this.receive(seq, view, undefined, unanswered),
      (error: unknown) => this.receive(seq, undefined, error, unanswered),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }

  private receive(seq: number, view: SharedView | undefined, error: unknown, unanswered: RateSignal | undefined): void {
    if (view === undefined) {
      this.counters.unavailable++;
      if (unanswered !== undefined) this.observeAlone(unanswered);
      if (seq < this.answered) return;
      this.setSharing('local', error);
      return;
    }
    // Answers come in order on one connection; an older one must not undo a newer.
    if (seq < this.answered) return;
    this.answered = seq;
    this.setSharing('shared', undefined);
    const now = this.clock.now();
    if (this.learned.at(-1)?.generation !== view.generation) {
      this.learned.push({ generation: view.generation, at: now });
      if (this.learned.length > LEARNED_KEPT) this.learned.shift();
    }
    this.logic.restore(stateFromView(view, now));
    this.applyShared(this.logic.rateAt(now));
  }

  /** The throttle generation this member knew at `sentAt`; undefined before its first answer. */
  private knownWhen(sentAt: number): number | undefined {
    for (let i = this.learned.length - 1; i >= 0; i--) if (this.learned[i]!.at <= sentAt) return this.learned[i]!.generation;
    return undefined;
  }

  private setSharing(sharing: 'shared' | 'local', error: unknown): void {
    if (this.sharing === sharing) return;
    this.sharing = sharing;
    if (this.sharingChanges.active) this.sharingChanges.emit(error === undefined ? { sharing } : { sharing, error });
  }

  private async waitPause(signal: AbortSignal | undefined): Promise<void> {
    for (let wait = this.logic.current.pauseUntil - this.clock.now(); wait > 0; wait = this.logic.current.pauseUntil - this.clock.now()) {
      await this.clock.sleep(wait, signal);
    }
  }

  /** setLimits costs a reschedule of the limiter's queue: skip changes under half a percent. */
  private apply(rate: number): void {
    if (Math.abs(rate - this.applied) <= this.applied * 0.005) return;
    this.setRate(rate);
  }

  /**
   * The fleet's rate, rounded down to a grid of half-percent steps. Members follow one CUBIC
   * curve between exchanges (`rateAt`), so they pass each step together and set the very
   * same limit. A skip threshold like `apply`'s, or a rate read at each member's own
   * exchange, would leave one member a little below the others, and over one shared window
   * the member with the lowest limit sees it full first, every time, and starves.
   */
  private applyShared(rate: number): void {
    const stepped = Math.exp(Math.floor(Math.log(rate) / LOG_STEP + 1e-9) * LOG_STEP);
    if (stepped !== this.applied) this.setRate(stepped);
  }

  private setRate(rate: number): void {
    this.applied = rate;
    this.limiter.setLimits([this.pacingAt(rate), ...this.others.map(asInput)]);
  }

  /** The pacing limit at `rate` per second, over its own interval while that leaves at least 1 unit. */
  private pacingAt(rate: number): LimitInput {
    const { intervalMs, algorithm } = this.pacing;
    const limit = (rate * intervalMs) / 1000;
    const r = limit >= 1 ? { limit, interval: intervalMs } : { limit: 1, interval: 1000 / rate };
    return { rate: r, algorithm, burst: Math.min(this.pacing.burst, r.limit), arrivalJitter: this.pacing.jitterMs ?? 0 };
  }
}

/** The shared state to use: the one given, none for `false`, else the limiter's store's for the limiter's key. */
function sharedFor(limiter: RateLimiter, option: SharedAdaptation | false | undefined): SharedAdaptation | undefined {
  if (option === false) return undefined;
  if (option !== undefined) {
    if (typeof option !== 'object' || option === null || typeof option.propose !== 'function') throw new ConfigError('shared', option, 'must have a propose(proposal, now) method, or be false');
    return option;
  }
  const { store, key } = limiter;
  return isSharedAdaptationSource(store) ? store.sharedAdaptation(key) : undefined;
}

function asInput(spec: LimitSpec): LimitInput {
  return { rate: { limit: spec.limit, interval: spec.intervalMs }, algorithm: spec.algorithm, burst: spec.burst, slack: spec.slackMs, smooth: spec.smoothMs, arrivalJitter: spec.jitterMs ?? 0 };
}
