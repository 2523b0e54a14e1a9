/**
 * Deque: a growable FIFO ring. The flow and the channel keep their items here so a
 * steady stream allocates nothing per item beyond the item itself, and a drained ring
 * holds no references (slots are cleared on shift).
 */
export class Deque<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & (this.items.length - 1)] = item;
    this.length++;
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    return item;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** Removes every item, returning them oldest first (used to reject waiters on close/abort). */
  drain(): T[] {
    const out: T[] = [];
    while (this.length > 0) out.push(this.shift() as T);
    return out;
  }

  /** Removes one item by identity (an aborted waiter); O(n), waiters are few. */
  remove(item: T): boolean {
    const mask = this.items.length - 1;
    for (let i = 0; i < this.length; i++) {
      if (this.items[(this.head + i) & mask] !== item) continue;
      for (let j = i; j < this.length - 1; j++) {
        this.items[(this.head + j) & mask] = this.items[(this.head + j + 1) & mask];
      }
      this.items[(this.head + this.length - 1) & mask] = undefined;
      this.length--;
      return true;
    }
    return false;
  }

  private grow(): void {
    const size = this.items.length;
    const items: (T | undefined)[] = new Array(size * 2);
    for (let i = 0; i < size; i++) items[i] = this.items[(this.head + i) & (size - 1)];
    this.items = items;
    this.head = 0;
  }
}
