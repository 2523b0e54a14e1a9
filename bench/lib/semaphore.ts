/**
 * The hand-written floor: the least a promise semaphore can do. A counter, an array
 * queue with a moving head (no Array.shift), and `then` chaining with two bound
 * callbacks (faster than async/await here) — no cancellation, no priorities, no stats,
 * no protection against a double release. Every concurrency limiter in the overhead
 * and memory benchmarks is measured against it.
 */
export class Semaphore {
  private free: number;
  private queue: ((value: undefined) => void)[] = [];
  private head = 0;
  private readonly onValue = <T>(value: T): T => {
    this.release();
    return value;
  };
  private readonly onError = (error: unknown): never => {
    this.release();
    throw error;
  };

  constructor(limit: number) {
    this.free = limit;
  }

  /** Resolves when a permit is free; the caller must `release()` it. */
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    if (this.head < this.queue.length) {
      const resolve = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      resolve(undefined);
    } else {
      this.free++;
    }
  }

  /** Runs `fn` under a permit, releasing it however `fn`'s promise settles. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) {
      this.free--;
      return fn().then(this.onValue, this.onError);
    }
    return new Promise<undefined>((resolve) => this.queue.push(resolve)).then(() => fn().then(this.onValue, this.onError));
  }
}
