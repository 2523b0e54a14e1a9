import type { SourceActivity } from '../../src/harvest/source/source-activity.js';

/**
 * IdleAccount: the time the limiter's pacer lost for want of a caller. The pacer (GCRA
 * inside the paced sliding window, gcra.ts) keeps a theoretical arrival time `tat`: a start
 * at `t` moves it to `max(tat, t) + e` (e = (T + J) / N), so the pacer's schedule slips by
 * exactly `max(0, t − tat)` at each start — the slot at `tat` was free and nobody took it
 * (a start within the slack before `tat` slips nothing: a late timer is caught up). Over a
 * run `tat` ends at `first + n·e + Σ slips`, which is what makes the account add up.
 *
 * From each `tat` on, if no start has come, it polls what the run is doing every POLL_MS
 * until one does, and charges each slice to the cause it saw. A slice no poll could see (the
 * poll itself ran late, or the start came first) is the event loop's.
 */
export class IdleAccount {
  static readonly POLL_MS = 5;
  readonly lost = new Map<string, number>();
  readonly spells: { at: number; ms: number; cause: string }[] = [];
  first: number | undefined;
  last: number | undefined;
  count = 0;
  /** The slips, summed directly: what the charges by cause add up to. */
  slipped = 0;
  /** The pacer's theoretical arrival time, replayed over the starts. */
  tat = Number.NEGATIVE_INFINITY;
  private slice: { since: number; cause: string } | undefined;
  /** The free slot being polled: its causes so far, charged only when a start ends it (after the last start there is none: that is the tail). */
  private spell: { at: number; causes: Map<string, number> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** This process's CPU time and the clock at the last start: a timer late while the process ran is its own work; late while it did not, the machine ran others. */
  private cpu = { used: process.cpuUsage(), at: 0 };

  constructor(
    private readonly emission: number,
    private readonly activity: () => SourceActivity,
    private readonly answers: () => number,
    private readonly now: () => number,
  ) {}

  admitted(at: number): void {
    clearTimeout(this.timer);
    this.count++;
    if (this.last === undefined) this.first = at;
    else if (at > this.tat) {
      this.slipped += at - this.tat;
      this.spell ??= { at: this.tat, causes: new Map() };
      if (this.slice !== undefined) this.charge(this.slice.cause, at - this.slice.since);
      else this.charge(this.lateCause(), at - this.tat);
      this.closeSpell(at);
    }
    this.slice = undefined;
    this.spell = undefined;
    this.cpu = { used: process.cpuUsage(), at };
    this.last = at;
    this.tat = Math.max(this.tat, at) + this.emission;
    this.timer = setTimeout(() => this.poll(), Math.max(0, this.tat - this.now()));
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private poll(): void {
    const now = this.now();
    if (this.slice === undefined) {
      // The first poll of a free slot: how late it ran is the event loop's.
      this.spell = { at: this.tat, causes: new Map() };
      if (now > this.tat) this.charge(this.lateCause(), now - this.tat);
    } else this.charge(this.slice.cause, now - this.slice.since);
    this.slice = { since: now, cause: causeOf(this.activity(), this.answers()) };
    this.timer = setTimeout(() => this.poll(), IdleAccount.POLL_MS);
  }

  /**
   * Why a timer ran late: this process was running (its CPU time since the last start over
   * half the time passed: its own work, a GC — the mock's too, in this bench), or it was
   * ready and the machine ran others (a loaded machine: nothing this process can change).
   * CPU time, not the event loop's utilisation: a process the machine preempts in the
   * middle of its work looks busy to the event loop.
   */
  private lateCause(): string {
    const { user, system } = process.cpuUsage(this.cpu.used);
    const busy = (user + system) / 1000 > 0.5 * (this.now() - this.cpu.at);
    return busy ? 'the event loop: this process running (its own work, GC)' : 'the event loop: late, this process not running (the machine ran others)';
  }

  private charge(cause: string, ms: number): void {
    const causes = this.spell!.causes;
    causes.set(cause, (causes.get(cause) ?? 0) + ms);
  }

  private closeSpell(at: number): void {
    const spell = this.spell!;
    for (const [cause, ms] of spell.causes) this.lost.set(cause, (this.lost.get(cause) ?? 0) + ms);
    if (at - spell.at < 50) return;
    const cause = [...spell.causes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'the event loop';
    this.spells.push({ at: spell.at, ms: at - spell.at, cause });
  }
}

/** Why nobody started on a free slot, from what the run is doing (SourceActivity). */
function causeOf(a: SourceActivity, answers: number): string {
  if (a.limiterWaiting > 0) return 'the event loop: a caller queued in the limiter, not yet woken';
  if (answers === 0) return 'the first answer (nothing else to fetch is known before it)';
  const child = a.children[0];
  if (child === undefined) return 'no child resource running yet';
  const { inFlight, concurrency, waiting, buffered } = child.flow;
  if (inFlight >= concurrency) return `the concurrency cap (${concurrency} parents at once, every request in flight)`;
  if (inFlight + waiting >= Math.max(16, 2 * concurrency)) return 'the ordered window (finished parents held behind a slow one)';
  if (buffered > 0) return 'parents read, not yet started (the flow between items)';
  if (child.awaitingParent) return a.parentsCommitting > 0 ? 'no child known: the parent page is committing (sink)' : 'no child known: the parent page is in flight';
  if (child.committing) return 'a child commit (sink)';
  if (!child.parentRunning) return 'the end: every parent started, their next pages wait on answers';
  return 'between steps (parent records being read back, a worker between its pages)';
}
