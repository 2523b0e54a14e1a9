import { WindowLog } from './window.js';

/** One limit the mock enforces; `intervalMs` is real time (after timeScale). */
export interface MockLimit {
  name: string;
  limit: number;
  intervalMs: number;
}

/** What a client may learn about one limit after a request: the input of every header dialect. */
export interface LimitView {
  name: string;
  limit: number;
  remaining: number;
  windowMs: number;
  /** Until the oldest counted request leaves the window: when `remaining` next grows. */
  nextMs: number;
  /** Until the window is empty and `remaining` is the full limit. */
  fullMs: number;
}

export interface Admission {
  admitted: boolean;
  /** Names of the limits that were already full when the request arrived. */
  violated: string[];
  /** Until the request would have fitted (0 when admitted). */
  waitMs: number;
  views: LimitView[];
}

/** Partitions are swept for empty windows this often, so one-off API keys cost nothing for long. */
const SWEEP_EVERY = 1024;

/**
 * LimitPartitions: the mock's limits, one set of windows per partition (an API key, or one
 * global partition). A request is admitted only when every limit has room; a refused request
 * records nothing, as a real server's refused call uses no quota.
 */
export class LimitPartitions {
  private readonly partitions = new Map<string, WindowLog[]>();
  private decisions = 0;

  constructor(
    readonly limits: readonly MockLimit[],
    private readonly graceMs: number,
  ) {}

  /**
   * Decides a request arriving at `now`: it fits when each limit has room for its cost
   * (`costs[i]`, default 1); when it does, `charges` are recorded — the chat endpoint admits
   * by its token estimate and charges the usage it reports.
   */
  admit(key: string, now: number, costs?: readonly number[], charges: readonly number[] | undefined = costs): Admission {
    const logs = this.partition(key);
    const violated: string[] = [];
    let waitMs = 0;
    logs.forEach((log, i) => {
      const wait = log.waitMs(now, costs?.[i] ?? 1, this.graceMs);
      if (wait > 0) {
        violated.push(this.limits[i]!.name);
        waitMs = Math.max(waitMs, wait);
      }
    });
    const admitted = violated.length === 0;
    if (admitted) logs.forEach((log, i) => log.add(now, charges?.[i] ?? 1));
    if (++this.decisions % SWEEP_EVERY === 0) this.sweep(now);
    return { admitted, violated, waitMs, views: this.view(logs, now) };
  }

  clear(): void {
    this.partitions.clear();
  }

  private view(logs: WindowLog[], now: number): LimitView[] {
    return logs.map((log, i) => {
      const { name, limit, intervalMs } = this.limits[i]!;
      return {
        name,
        limit,
        remaining: Math.max(0, Math.floor(limit - log.used(now))),
        windowMs: intervalMs,
        nextMs: log.nextFreeMs(now),
        fullMs: log.fullResetMs(now),
      };
    });
  }

  private partition(key: string): WindowLog[] {
    let logs = this.partitions.get(key);
    if (!logs) {
      logs = this.limits.map((l) => new WindowLog(l.limit, l.intervalMs));
      this.partitions.set(key, logs);
    }
    return logs;
  }

  private sweep(now: number): void {
    for (const [key, logs] of this.partitions) if (logs.every((log) => log.used(now) === 0)) this.partitions.delete(key);
  }
}
