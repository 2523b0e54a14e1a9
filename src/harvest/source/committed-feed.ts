import type { ResourceWriter, Resumed } from '../sinks/sink.js';
import { recordsBetween } from './records-of.js';
import type { ResourceState } from './resource-state.js';

/**
 * CommittedFeed: what a parent resource has committed, for its children to follow while the
 * parent's sync still runs (streaming fan-out). It hears of a commit only once the commit is
 * durable (FeedWriter), so a child never fetches for a parent record that a crash could take
 * back — whatever the child commits, the parent's records it counts are on disk.
 *
 * It knows three things: how far the file the children read (the parent's NDJSON file, or
 * its log beside another sink) is committed; which sync the parent has committed and
 * whether that sync's end is committed; and whether the parent's sync is running in this
 * run, so a follower knows whether to wait for more or stop at what is there.
 */
export class CommittedFeed {
  private end = 0;
  private sync = { number: 0, complete: true };
  private running = false;
  private waiters: (() => void)[] = [];
  /** A commit of the parent is on its way to disk (FeedWriter): its records reach the children only once it is there. */
  committing = false;

  /** `endOf`: the committed length of the file the children read, as a state counts it. */
  constructor(private readonly endOf: (state: ResourceState) => number) {}

  /** A commit of the parent (or the state it resumed from) is durable. */
  committed(state: ResourceState): void {
    this.end = this.endOf(state);
    this.sync = { number: state.sync.number, complete: state.sync.complete };
    this.wake();
  }

  /** The parent's sync runs in this run: followers wait for its commits until `stopped`. */
  started(): void {
    this.running = true;
  }

  /** The parent's sync ended in this run — complete, stopped at a page, or failed: followers read what is committed and end. */
  stopped(): void {
    this.running = false;
    this.wake();
  }

  /** Whether a follower waits for the next commit: it has read all there is (SourceActivity). */
  get awaited(): boolean {
    return this.waiters.length > 0;
  }

  /** Whether the parent's sync runs in this run (between `started` and `stopped`). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Whether the parent's sync `number` has a committed end: its children have every record of it once they have read the file to its end. */
  completed(number: number | undefined): boolean {
    return this.sync.number === number && this.sync.complete;
  }

  /**
   * The parent's records of its current sync, numbered from 0 at `start` in `file`, those
   * from `skip` on: what is committed, then each commit as it becomes durable, until the
   * parent's sync stops running and the file is read to its committed end. Reads the file
   * range by range (never holds more than a line), so a child far behind costs no memory.
   * Throws the signal's reason on abort, so an aborted follower is never taken for one
   * that read everything.
   */
  async *follow(file: string, start: number, skip: number, signal: AbortSignal): AsyncGenerator<{ index: number; text: string }> {
    let pos = start;
    let index = 0;
    for (;;) {
      signal.throwIfAborted();
      const end = this.end;
      if (pos < end) {
        for await (const text of recordsBetween(file, pos, end)) {
          if (index >= skip) yield { index, text };
          index++;
        }
        pos = end;
      } else if (!this.running) return;
      else await this.next(signal);
    }
  }

  /** Resolves at the next commit, stop or abort. */
  private next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** FeedWriter: a parent's writer that tells its feed of each commit once the commit is durable. */
export class FeedWriter implements ResourceWriter<ResourceState> {
  constructor(
    private readonly inner: ResourceWriter<ResourceState>,
    readonly feed: CommittedFeed,
  ) {}

  async resume(): Promise<Resumed<ResourceState> | undefined> {
    const saved = await this.inner.resume();
    if (saved !== undefined) this.feed.committed(saved.state);
    return saved;
  }

  async commit(records: readonly string[], state: ResourceState): Promise<void> {
    this.feed.committing = true;
    try {
      await this.inner.commit(records, state);
    } finally {
      this.feed.committing = false;
    }
    this.feed.committed(state);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
