/**
 * CommitBatch: entries wait here while the previous group is being made durable, and go
 * to disk together, in the order added. `add` waits only when too many are waiting
 * (backpressure); a failed commit is rethrown by the next `add` or `flush`.
 */
export class CommitBatch<Entry> {
  private waiting: Entry[] = [];
  private running: Promise<void> | undefined;
  private error: { cause: unknown } | undefined;
  private static readonly MAX_WAITING = 16;

  constructor(private readonly commit: (entries: readonly Entry[]) => Promise<void>) {}

  /** A group is being committed now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  get failed(): boolean {
    return this.error !== undefined;
  }

  async add(entry: Entry): Promise<void> {
    this.rethrow();
    this.waiting.push(entry);
    this.running ??= this.drain();
    if (this.waiting.length >= CommitBatch.MAX_WAITING) await this.running;
    this.rethrow();
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.rethrow();
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0 && !this.error) {
        const entries = this.waiting;
        this.waiting = [];
        await this.commit(entries);
      }
    } catch (error) {
      this.error = { cause: error };
    } finally {
      this.running = undefined;
    }
  }

  private rethrow(): void {
    if (this.error) throw this.error.cause;
  }
}
