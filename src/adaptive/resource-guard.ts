import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/** What the guard measures, read once per check. */
export interface ResourceReadings {
  /** Worst event-loop delay since the last reading, in ms. */
  eventLoopDelayMs: number;
  heapUsedBytes: number;
  rssBytes: number;
}

export interface ResourceGuardOptions {
  /** Pause while the event-loop delay exceeds this many ms. */
  maxEventLoopDelayMs?: number | undefined;
  /** Pause while the V8 heap in use exceeds this many bytes. */
  maxHeapUsedBytes?: number | undefined;
  /** Pause while the resident set exceeds this many bytes. */
  maxRssBytes?: number | undefined;
  /** Resume once every reading is below `resumeRatio ×` its threshold (hysteresis). Default 0.9. */
  resumeRatio?: number | undefined;
  /** How often to read while someone is attached. Default 250 ms. */
  interval?: Duration | undefined;
  /** Source of readings; inject one for deterministic tests. Default: perf_hooks + process.memoryUsage. */
  read?: (() => ResourceReadings) | undefined;
  clock?: Clock | undefined;
}

export interface ResourceGuardStats {
  paused: boolean;
  /** Which thresholds were exceeded at the last check, e.g. `['heapUsed']`. */
  reasons: string[];
  last: ResourceReadings | undefined;
  pauses: number;
  /** Total ms spent paused, up to the last check. */
  pausedMs: number;
}

/**
 * ResourceGuard: stops admission while this process is short of breath — event loop
 * lagging, heap or RSS above a threshold — and lets it continue once every reading falls
 * below `resumeRatio` of its threshold, so it does not flap at the edge. It reads only
 * while something is attached (a running flow), on one timer, and stops when the last
 * user detaches, so an idle guard costs nothing and keeps no process alive.
 */
export class ResourceGuard {
  private readonly thresholds: Array<[keyof ResourceReadings, number, string]> = [];
  private readonly resumeRatio: number;
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly read: () => ResourceReadings;
  private readonly ownsMonitor: boolean;
  private monitor: IntervalHistogram | undefined;
  private timer: Timer | undefined;
  private users = 0;
  private isPaused = false;
  private reasons: string[] = [];
  private last: ResourceReadings | undefined;
  private pauses = 0;
  private pausedMs = 0;
  private pausedAt = 0;
  private resumeWaiters: Array<() => void> = [];
  private readonly tick = (): void => {
    this.timer = undefined;
    this.check();
    if (this.users > 0) this.timer = this.clock.timer(this.tick, this.intervalMs);
  };

  constructor(options: ResourceGuardOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    const add = (field: keyof ResourceGuardOptions, reading: keyof ResourceReadings, name: string): void => {
      const value = options[field];
      if (value === undefined) return;
      if (typeof value !== 'number' || !(value > 0)) throw new ConfigError(field, value, 'must be a number > 0');
      this.thresholds.push([reading, value, name]);
    };
    add('maxEventLoopDelayMs', 'eventLoopDelayMs', 'eventLoopDelay');
    add('maxHeapUsedBytes', 'heapUsedBytes', 'heapUsed');
    add('maxRssBytes', 'rssBytes', 'rss');
    if (this.thresholds.length === 0) {
      throw new ConfigError('options', options, 'set at least one of maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes');
    }
    this.resumeRatio = options.resumeRatio ?? 0.9;
    if (!(this.resumeRatio > 0 && this.resumeRatio <= 1)) throw new ConfigError('resumeRatio', options.resumeRatio, 'must be in (0, 1]');
    this.intervalMs = parseDuration(options.interval ?? 250, 'interval');
    if (!(this.intervalMs > 0)) throw new ConfigError('interval', options.interval, 'must be longer than 0');
    this.clock = options.clock ?? systemClock;
    this.ownsMonitor = options.read === undefined;
    this.read = options.read ?? (() => this.readProcess());
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /**
   * Starts reading (if this is the first user) and returns the detach function; the
   * last detach stops the timer and the event-loop monitor.
   */
  attach(): () => void {
    this.users++;
    if (this.users === 1) {
      if (this.ownsMonitor) {
        this.monitor = monitorEventLoopDelay({ resolution: 10 });
        this.monitor.enable();
      }
      this.check();
      this.timer = this.clock.timer(this.tick, this.intervalMs);
    }
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--this.users > 0) return;
      this.timer?.cancel();
      this.timer = undefined;
      this.monitor?.disable();
      this.monitor = undefined;
    };
  }

  /** Calls `callback` once when the guard next resumes; returns a canceller. Immediate if not paused. */
  onResume(callback: () => void): () => void {
    if (!this.isPaused) {
      callback();
      return () => {};
    }
    this.resumeWaiters.push(callback);
    return () => {
      this.resumeWaiters = this.resumeWaiters.filter((w) => w !== callback);
    };
  }

  /** Reads now and updates the paused state (the timer calls this; tests may too). */
  check(): void {
    const readings = this.read();
    this.last = readings;
    const now = this.clock.now();
    if (this.isPaused) this.pausedMs += now - this.pausedAt;
    this.pausedAt = now;
    const over = this.thresholds.filter(([key, limit]) => readings[key] > limit).map(([, , name]) => name);
    if (!this.isPaused && over.length > 0) {
      this.isPaused = true;
      this.pauses++;
      this.reasons = over;
      return;
    }
    if (this.isPaused) {
      const calm = this.thresholds.every(([key, limit]) => readings[key] < limit * this.resumeRatio);
      if (!calm) {
        this.reasons = this.thresholds.filter(([key, limit]) => readings[key] >= limit * this.resumeRatio).map(([, , name]) => name);
        return;
      }
      this.isPaused = false;
      this.reasons = [];
      const waiters = this.resumeWaiters;
      this.resumeWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  stats(): ResourceGuardStats {
    return { paused: this.isPaused, reasons: [...this.reasons], last: this.last, pauses: this.pauses, pausedMs: this.pausedMs };
  }

  private readProcess(): ResourceReadings {
    const memory = process.memoryUsage();
    const monitor = this.monitor;
    // The histogram is in ns; its max since the last reset is the worst stall in this interval.
    const eventLoopDelayMs = monitor !== undefined && monitor.count > 0 ? monitor.max / 1e6 : 0;
    monitor?.reset();
    return { eventLoopDelayMs, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss };
  }
}
