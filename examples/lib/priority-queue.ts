/**
 * PriorityQueue: a binary heap, highest priority first and first in, first out among equals.
 * sluice's limiters serve waiters by priority, but a flow reads its source in order; a batch
 * whose items differ in urgency orders the source itself, and the flow's lazy reading lets
 * items pushed later overtake those not yet read.
 */
export class PriorityQueue<T> {
  private heap: { item: T; priority: number; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(item: T, priority = 0): void {
    this.heap.push({ item, priority, seq: this.seq++ });
    for (let i = this.heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): T | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top?.item;
    this.heap[0] = last;
    for (let i = 0; ; ) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let best = i;
      if (l < this.heap.length && this.before(l, best)) best = l;
      if (r < this.heap.length && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top.item;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.priority !== y.priority ? x.priority > y.priority : x.seq < y.seq;
  }

  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b]!, this.heap[a]!];
  }
}
