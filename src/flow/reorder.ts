/**
 * ReorderBuffer: results that finished before an earlier item, keyed by their index, for
 * `ordered` flows. A ring indexed by `index − next`, so storing and releasing are O(1)
 * with no hashing; it holds at most `window` entries (the flow never starts an item
 * further ahead than that) and grows to the next power of two when the window does.
 */
export class ReorderBuffer<T> {
  private slots: (T | undefined)[] = new Array(16);
  private head = 0;
  /** The index the consumer needs next: the one at `head`. */
  private next = 0;
  size = 0;

  /** Stores the result for `index` (which is `>= next`). */
  set(index: number, value: T): void {
    const offset = index - this.next;
    while (offset >= this.slots.length) this.grow();
    this.slots[(this.head + offset) & (this.slots.length - 1)] = value;
    this.size++;
  }

  /** Removes and returns the result for `next` if it has arrived, advancing `next`. */
  shift(): T | undefined {
    const value = this.slots[this.head];
    if (value === undefined) return undefined;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.next++;
    this.size--;
    return value;
  }

  /** Whether `index` is the one the consumer needs next. */
  isNext(index: number): boolean {
    return index === this.next;
  }

  /** Skips `next` without a value (its result was delivered directly). */
  advance(): void {
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.next++;
  }

  clear(): void {
    this.slots = new Array(16);
    this.head = 0;
    this.size = 0;
  }

  private grow(): void {
    const size = this.slots.length;
    const slots: (T | undefined)[] = new Array(size * 2);
    for (let i = 0; i < size; i++) slots[i] = this.slots[(this.head + i) & (size - 1)];
    this.slots = slots;
    this.head = 0;
  }
}
