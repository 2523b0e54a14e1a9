import { untilAborted } from '../core/until-aborted.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';

/**
 * FirstAnswer: a sluiceFetch's first request goes alone, and its place in the rate limiter's
 * windows is counted from its answer rather than its start.
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
export class FirstAnswer {
  private answered = false;
  private moved = false;
  /** Settles when the request going first ends. */
  private running: Promise<void> | undefined;
  private release: (() => void) | undefined;

  private constructor(private readonly limiter: RateLimiter) {}

  /** The FirstAnswer for `limiter`, or undefined when its store cannot charge. */
  static for(limiter: RateLimiter | undefined): FirstAnswer | undefined {
    return limiter && typeof limiter.store.charge === 'function' ? new FirstAnswer(limiter) : undefined;
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
