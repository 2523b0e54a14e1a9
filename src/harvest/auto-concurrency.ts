import type { AdaptiveLimit, LimitSample } from '../adaptive/adaptive-limit.js';
import { Gradient2Limit } from '../adaptive/gradient2-limit.js';
import { RateSizedLimit } from '../adaptive/rate-sized-limit.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';
import { sustainedRatePerMs } from '../flow/options.js';

/** Most pages in flight `--concurrency auto` ever allows: bounds memory (pages held in the ordered window). */
export const AUTO_MAX = 256;

/** Response bytes `auto` lets the pages in flight and awaiting their turn to be written hold, about. */
export const AUTO_BYTES = 16 * 1024 * 1024;

/**
 * SendLatencyLimit: an adaptive concurrency limit fed by the time each request spends on
 * the wire, not by the flow. In a harvest the rate limiter's wait happens inside the page
 * worker (sluiceFetch paces each attempt), so the flow's own samples would count that wait
 * as latency — and Little's law would then ask for ever more pages in flight. The flow's
 * samples are ignored; `observe` takes the transport's.
 *
 * Memory is bounded by bytes, not only by pages: the flow holds up to twice the limit
 * (in flight, plus done and waiting for an earlier page), so the limit is also kept under
 * `AUTO_BYTES / (2 × the average body)`. With large pages on a fast API, Little's law
 * alone lets RSS climb with the records (BENCHMARKS.md, harvest).
 */
export class SendLatencyLimit implements AdaptiveLimit {
  private averageBytes = 0;

  constructor(private readonly inner: AdaptiveLimit) {}

  get limit(): number {
    const byBytes = this.averageBytes > 0 ? Math.max(1, Math.floor(AUTO_BYTES / (2 * this.averageBytes))) : Number.POSITIVE_INFINITY;
    return Math.min(this.inner.limit, byBytes);
  }

  onSample(): number {
    return this.limit;
  }

  observe(sample: LimitSample): void {
    this.inner.onSample(sample);
  }

  /** One response body's size: the average follows the last few dozen. */
  observeBytes(bytes: number): void {
    this.averageBytes = this.averageBytes === 0 ? bytes : this.averageBytes + (bytes - this.averageBytes) / 32;
  }
}

/**
 * autoLimit: `--concurrency auto`. With a rate, Little's law over the send latency
 * (RateSizedLimit): enough in flight to start pages at the rate, whatever the latency does.
 * Without one, Gradient2 follows the latency alone.
 */
export function autoLimit(rate: RateLimiter | undefined): SendLatencyLimit {
  const inner = rate
    ? // Tolerance 4, not 2: APIs answer in a wide spread (0.2–1.5 s, the seeds' 8–30 s). With
      // uniform 0.2–1.5 s answers, all 16 of a half-window are slower than twice the floor
      // 7 % of the time, (1.1/1.3)^16, and each such time brakes the limit toward what is in
      // flight; with 4 it is 0.005 %, (0.7/1.3)^16.
      new RateSizedLimit({ itemsPerMs: () => sustainedRatePerMs(rate), initial: 8, max: AUTO_MAX, tolerance: 4 })
    : new Gradient2Limit({ initial: 16, max: AUTO_MAX });
  return new SendLatencyLimit(inner);
}
