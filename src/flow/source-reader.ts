import { RESOLVED } from '../core/invoke.js';
import type { FlowSource } from './types.js';

/**
 * SourceReader: reads a flow's source, synchronous or asynchronous, one `next()` at a
 * time and only when asked, and closes it (its `return()`, which ends a generator or
 * destroys a stream) exactly once. It never reads on its own: the flow decides how far
 * ahead it may be.
 */
export class SourceReader<I> {
  /** A read of an asynchronous source is in flight. */
  pulling = false;
  /** The source is exhausted, failed or closed: nothing more will be read. */
  done = false;
  /** The source's own failure, reported by the flow after the results already read. */
  failure: { error: unknown } | undefined;
  private iterator: Iterator<I> | AsyncIterator<I> | undefined;
  private sync = false;
  private closeRequested = false;
  private closing: Promise<void> | undefined;

  constructor(source: FlowSource<I>) {
    try {
      const candidate = source as Partial<AsyncIterable<I> & Iterable<I>>;
      if (typeof candidate[Symbol.asyncIterator] === 'function') this.iterator = candidate[Symbol.asyncIterator]!();
      else if (typeof candidate[Symbol.iterator] === 'function') {
        this.iterator = candidate[Symbol.iterator]!();
        this.sync = true;
      } else throw new TypeError('flow: source must be an Iterable or an AsyncIterable');
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Reads while `wants()` says so: a synchronous source in one go, an asynchronous one a
   * single item at a time, calling `landed()` once each read has settled.
   */
  read(wants: () => boolean, accept: (item: I) => void, landed: () => void): void {
    const iterator = this.iterator;
    while (iterator !== undefined && !this.pulling && !this.done && wants()) {
      if (!this.sync) {
        this.readAsync(iterator as AsyncIterator<I>, accept, landed);
        return;
      }
      let step: IteratorResult<I>;
      try {
        step = (iterator as Iterator<I>).next();
      } catch (error) {
        this.fail(error);
        return;
      }
      if (step.done) {
        this.done = true;
        return;
      }
      accept(step.value);
    }
  }

  /** Closes the source once; later calls return the same promise. Never rejects. */
  close(): Promise<void> {
    this.closeRequested = true;
    if (this.closing) return this.closing;
    const iterator = this.iterator;
    if (iterator === undefined || this.pulling) return RESOLVED; // a pending read closes it when it lands
    this.iterator = undefined;
    const wasDone = this.done;
    this.done = true;
    if (wasDone || typeof iterator.return !== 'function') return RESOLVED;
    this.closing = (async () => {
      try {
        await iterator.return!();
      } catch {
        // The run is over and its outcome decided; a source failing to close cannot change it.
      }
    })();
    return this.closing;
  }

  private readAsync(iterator: AsyncIterator<I>, accept: (item: I) => void, landed: () => void): void {
    this.pulling = true;
    let step: Promise<IteratorResult<I>>;
    try {
      step = Promise.resolve(iterator.next());
    } catch (error) {
      this.pulling = false;
      this.fail(error);
      return;
    }
    step.then(
      (result) => {
        this.pulling = false;
        if (result.done) this.done = true;
        else if (this.closeRequested) void this.close(); // read after the stop: drop it, close now
        else accept(result.value);
        landed();
      },
      (error: unknown) => {
        this.pulling = false;
        this.fail(error);
        landed();
      },
    );
  }

  private fail(error: unknown): void {
    this.done = true;
    this.iterator = undefined; // a failed iterator is finished; do not call return() on it
    if (!this.closeRequested) this.failure = { error };
  }
}
