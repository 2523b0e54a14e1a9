import { untilAborted } from '../core/until-aborted.js';
import { DEFAULT_JITTER_MS } from '../algorithms/limit-spec.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';

/**
 * FirstAnswer: the first request paced by a rate limiter goes alone, and its place in the
 * limiter's windows is counted from its answer rather than its start.
 *
 * Why: the first request of a process pays start-up costs after the limiter admitted it —
 * Node loads and warms its HTTP client, the first connection is opened (a TCP and TLS
 * handshake on a real network) — and reaches the server later than every request after it:
 * 9–50 ms later on loopback here, against 1–2 ms (BENCHMARKS.md, arrivals). Counted from its
 * start, it leaves our window that much before it leaves the server's, and the first request
 * of the next window finds the server's full: a 429 no margin for ordinary jitter covers.
 * It surely arrived before its answer, so counted from the answer it leaves ours after it has
 * left the server's. Alone, it is the limiter's newest start, so `refund` takes back exactly
 * it before `charge` counts it again at the answer. The others wait one round trip, once.
 *
 * A first request that ends without an answer (a network error, an abort) lets the next one
 * go alone in its place. Only for a limiter whose store can charge (MemoryStore); otherwise
 * nothing waits and nothing moves.
 */
/**
 * The most a first request reaches the server late for its start-up (a new TLS connection:
 * the default arrival jitter's ceiling): a limit counting this much jitter covers it without
 * the first request going alone.
 */
const START_UP_LATENESS_MS = DEFAULT_JITTER_MS;

export class FirstAnswer {
  /**
   * One per limiter: every fetch paced by a limiter shares its first answer. The start-up it
   * guards against is the process's (its HTTP client, its first connection to the origin),
   * not each fetch's — a harvest source makes a fetch per parent record on one limiter, and
   * holding each one's first request alone cost it 3 % of its rate (bench/source.bench.ts).
   */
  private static readonly byLimiter = new WeakMap<RateLimiter, FirstAnswer>();
  private answered = false;
  private moved = false;
  /** Settles when the request going first ends. */
  private running: Promise<void> | undefined;
  private release: (() => void) | undefined;

  private constructor(private readonly limiter: RateLimiter) {}

  /**
   * The FirstAnswer for `limiter`, or undefined when its store cannot charge, or when every
   * limit already counts a start-up's lateness in its arrival jitter (START_UP_LATENESS_MS:
   * per-minute limits by default) — so the first call to an LLM, whose answer takes
   * seconds, holds no one back behind it. The same one for every caller with that limiter.
   */
  static for(limiter: RateLimiter | undefined): FirstAnswer | undefined {
    if (limiter === undefined || typeof limiter.store.charge !== 'function') return undefined;
    if (limiter.limits.every((spec) => (spec.jitterMs ?? 0) >= START_UP_LATENESS_MS)) return undefined;
    let shared = FirstAnswer.byLimiter.get(limiter);
    if (shared === undefined) {
      shared = new FirstAnswer(limiter);
      FirstAnswer.byLimiter.set(limiter, shared);
    }
    return shared;
  }

  /**
   * Waits while another request goes first; resolves true when the caller is to go first
   * (then it must call `leave`), false once the first has been answered. Rejects with the
   * signal's reason.
   */
  async enter(signal: AbortSignal | undefined): Promise<boolean> {
    while (!this.answered && this.running !== undefined) await untilAborted(this.running, signal);
    if (this.answered) return false;
    this.running = new Promise((resolve) => (this.release = resolve));
    return true;
  }

  /** The first request's attempt was answered: its count in the windows moves to now (once). */
  async heard(): Promise<void> {
    if (this.moved) return;
    this.moved = true;
    this.answered = true;
    await this.limiter.refund(1);
    await this.limiter.charge(1);
  }

  /** Nobody goes alone any more, and no count moves: the first request's answer is not waited for. */
  skip(): void {
    this.moved = true;
    this.answered = true;
    this.leave();
  }

  /** The request going first has ended; if it was never answered, the next goes alone. */
  leave(): void {
    this.running = undefined;
    this.release?.();
  }

  /** Whether the first answer is still to come: an attempt's answer is then the one `heard` is for. */
  get waiting(): boolean {
    return !this.answered;
  }
}
