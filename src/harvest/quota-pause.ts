import type { Clock, Timer } from '../core/clock.js';
import type { HarvestMonitor } from './monitor.js';

/**
 * QuotaPause: one pause for the whole harvest while the server's quota is exhausted. A
 * page that meets it waits here instead of failing, and so does every page about to be
 * sent; the monitor sees one pause (with its end, for a countdown), not a 429 per page.
 * A later end extends the pause; an earlier one is already covered.
 */
export class QuotaPause {
  private until = Number.NEGATIVE_INFINITY;
  private endTimer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly monitor: HarvestMonitor,
  ) {}

  get pausedUntil(): number | undefined {
    return this.until > this.clock.now() ? this.until : undefined;
  }

  /** Pauses every page until `untilMs` (clock ms). */
  pauseUntil(untilMs: number, reason: string): void {
    const now = this.clock.now();
    if (untilMs <= now || untilMs <= this.until) return;
    this.until = untilMs;
    this.monitor.pauseStarted(now, untilMs, reason);
    this.endTimer?.cancel();
    this.endTimer = this.clock.timer(() => {
      this.endTimer = undefined;
      this.monitor.pauseEnded(this.clock.now());
    }, untilMs - now);
  }

  /** Resolves when no pause is in force; rejects with the signal's reason on abort. */
  async wait(signal?: AbortSignal): Promise<void> {
    for (let ms = this.until - this.clock.now(); ms > 0; ms = this.until - this.clock.now()) await this.clock.sleep(ms, signal);
  }

  /** Ends the pause's timer (the harvest is over). */
  dispose(): void {
    this.endTimer?.cancel();
    this.endTimer = undefined;
  }
}
