import { abortReason, ConfigError, QueueFullError, SluiceError } from '../core/errors.js';
import { Deque } from './deque.js';
import { unwatchAbort, watchAbort } from '../core/abort-watch.js';

export interface ChannelOptions {
  /** Most items held at once; a whole number >= 1. */
  capacity: number;
  /**
   * What `push` does when the channel is full: `'wait'` (default) until a consumer takes
   * an item, `'reject'` with QueueFullError at once.
   */
  onFull?: 'wait' | 'reject' | undefined;
}

export interface WaitOptions {
  /** Aborting stops the wait, frees its place and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** ChannelClosedError: `push` on a channel that was closed. */
export class ChannelClosedError extends SluiceError {
  override name = 'ChannelClosedError';
}

interface PushWaiter<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
  cleanup: (() => void) | undefined;
}

interface TakeWaiter<T> {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: unknown) => void;
  cleanup: (() => void) | undefined;
}

interface SizeWaiter {
  below: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  cleanup: (() => void) | undefined;
}

/**
 * Channel: a bounded FIFO between producers and consumers. `push` waits while the
 * channel is full (or rejects, with `onFull: 'reject'`), so a fast producer is slowed to
 * the consumer's pace and memory stays at `capacity` items plus one per waiting producer.
 *
 * `close()` stops further pushes; consumers drain what is left and then see the end.
 * Producers still waiting when it closes are rejected with ChannelClosedError, since
 * their items were never accepted. Every wait takes an AbortSignal and, when aborted,
 * leaves the queue and removes its listener.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items = new Deque<T>();
  private readonly pushers = new Deque<PushWaiter<T>>();
  private readonly takers = new Deque<TakeWaiter<T>>();
  private sizeWaiters: SizeWaiter[] = [];
  private readonly capacity: number;
  private readonly onFull: 'wait' | 'reject';
  private isClosed = false;

  constructor(options: ChannelOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    const { capacity } = options;
    if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1) {
      throw new ConfigError('capacity', capacity, 'must be a whole number >= 1');
    }
    this.capacity = capacity;
    this.onFull = options.onFull ?? 'wait';
    if (this.onFull !== 'wait' && this.onFull !== 'reject') throw new ConfigError('onFull', options.onFull, "must be 'wait' or 'reject'");
  }

  /** Items held now (not counting producers waiting to push). */
  get size(): number {
    return this.items.length;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Adds `item`, waiting while the channel is full. Rejects with QueueFullError when full
   * and `onFull` is `'reject'`, with ChannelClosedError once closed, and with the signal's
   * reason on abort (the item is then not added).
   */
  push(item: T, options?: WaitOptions): Promise<void> {
    if (this.isClosed) return Promise.reject(new ChannelClosedError('push on a closed channel'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.tryPush(item)) return Promise.resolve();
    if (this.onFull === 'reject') return Promise.reject(new QueueFullError(`channel is full (${this.capacity} items)`, 0));
    return new Promise<void>((resolve, reject) => {
      const waiter: PushWaiter<T> = { item, resolve, reject, cleanup: undefined };
      waiter.cleanup = listen(signal, () => {
        this.pushers.remove(waiter);
        reject(abortReason(signal!));
      });
      this.pushers.push(waiter);
    });
  }

  /** Adds `item` if there is room now; never waits. False when full or closed. */
  tryPush(item: T): boolean {
    if (this.isClosed) return false;
    const taker = this.takers.shift();
    if (taker !== undefined) {
      // A consumer is already waiting: hand the item over without storing it.
      taker.cleanup?.();
      taker.resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /**
   * Takes the oldest item, waiting while the channel is empty. Resolves `{ done: true }`
   * once the channel is closed and drained.
   */
  next(options?: WaitOptions): Promise<IteratorResult<T, undefined>> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.items.length > 0) {
      const value = this.items.shift() as T;
      this.afterTake();
      return Promise.resolve({ value, done: false });
    }
    const pusher = this.pushers.shift();
    if (pusher !== undefined) {
      pusher.cleanup?.();
      pusher.resolve();
      return Promise.resolve({ value: pusher.item, done: false });
    }
    if (this.isClosed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      const waiter: TakeWaiter<T> = { resolve, reject, cleanup: undefined };
      waiter.cleanup = listen(signal, () => {
        this.takers.remove(waiter);
        reject(abortReason(signal!));
      });
      this.takers.push(waiter);
    });
  }

  /** No more pushes. Consumers drain what is held and then see the end; waiting producers are rejected. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const pusher of this.pushers.drain()) {
      pusher.cleanup?.();
      pusher.reject(new ChannelClosedError('channel closed before the item was accepted'));
    }
    // Nothing is held when consumers wait, so each of them sees the end now.
    for (const taker of this.takers.drain()) {
      taker.cleanup?.();
      taker.resolve({ value: undefined, done: true });
    }
    this.afterTake();
  }

  /** Resolves once the channel holds no items (at once if it is empty now). */
  onIdle(options?: WaitOptions): Promise<void> {
    return this.onSizeBelow(1, options);
  }

  /** Resolves once the channel holds fewer than `n` items (at once if it does now). */
  onSizeBelow(n: number, options?: WaitOptions): Promise<void> {
    if (typeof n !== 'number' || !(n >= 1)) return Promise.reject(new ConfigError('n', n, 'must be a number >= 1'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.items.length < n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: SizeWaiter = { below: n, resolve, reject, cleanup: undefined };
      waiter.cleanup = listen(signal, () => {
        this.sizeWaiters = this.sizeWaiters.filter((w) => w !== waiter);
        reject(abortReason(signal!));
      });
      this.sizeWaiters.push(waiter);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: () => this.next() };
  }

  /** An item left: let one waiting producer in, and wake size watchers whose bound is met. */
  private afterTake(): void {
    if (!this.isClosed) {
      const pusher = this.pushers.shift();
      if (pusher !== undefined) {
        pusher.cleanup?.();
        this.items.push(pusher.item);
        pusher.resolve();
      }
    }
    if (this.sizeWaiters.length === 0) return;
    const size = this.items.length;
    const keep: SizeWaiter[] = [];
    for (const waiter of this.sizeWaiters) {
      if (size < waiter.below) {
        waiter.cleanup?.();
        waiter.resolve();
      } else keep.push(waiter);
    }
    this.sizeWaiters = keep;
  }
}

/** Adds a once-only abort listener and returns its remover (undefined without a signal). */
function listen(signal: AbortSignal | undefined, onAbort: () => void): (() => void) | undefined {
  if (signal === undefined) return undefined;
  watchAbort(signal, onAbort);
  return () => unwatchAbort(signal, onAbort);
}
