/**
 * fingerprintOf: a 53-bit hash of a string (cyrb53), never 0. Used to recognise a page URL or
 * a record line seen before; two different strings share one with probability about 2^-53
 * per pair, far below anything a harvest's window of them can meet.
 */
export function fingerprintOf(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hash = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return hash === 0 ? 1 : hash;
}

/**
 * FingerprintWindow: the last `capacity` distinct fingerprints added, as a set — bounded
 * memory (about 24 bytes each at most), however long the harvest. When full, the oldest is
 * forgotten: a repeat is recognised when it comes back within `capacity` distinct additions
 * of its first appearance.
 *
 * Open addressing with linear probing over a table at least twice the fingerprints held;
 * removal shifts the entries after the hole back (no tombstones), so lookups stay short
 * however many come and go. The table and the order grow by doubling as the window fills,
 * up to `capacity`: a short harvest (a source's child of a few pages, thousands of them
 * at once) pays for what it holds, not megabytes zeroed for a window it never fills.
 */
export class FingerprintWindow {
  private table: Float64Array;
  private mask: number;
  /** The table's size once `capacity` fingerprints are held: twice it, a power of two. */
  private readonly fullSlots: number;
  /** Fingerprints in the order added; a ring once full (`next` the oldest), a growing list before. */
  private order: Float64Array;
  private next = 0;
  private count = 0;

  /** `capacity`: how many fingerprints are remembered, at least 1. */
  constructor(readonly capacity: number) {
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.fullSlots = slots;
    this.table = new Float64Array(Math.min(slots, 16));
    this.mask = this.table.length - 1;
    this.order = new Float64Array(Math.min(capacity, 8));
  }

  get size(): number {
    return this.count;
  }

  has(fingerprint: number): boolean {
    for (let i = this.slotOf(fingerprint); ; i = (i + 1) & this.mask) {
      const at = this.table[i]!;
      if (at === 0) return false;
      if (at === fingerprint) return true;
    }
  }

  /** Remembers `fingerprint`; one already remembered keeps its place (it is not made recent). */
  add(fingerprint: number): void {
    let slot = this.slotOf(fingerprint);
    for (; this.table[slot] !== 0; slot = (slot + 1) & this.mask) if (this.table[slot] === fingerprint) return;
    if (this.count === this.capacity) this.remove(this.order[this.next]!);
    else this.makeRoom();
    // A removal may have shifted entries into the free slot found before it, a growth moved them all: find it again.
    for (slot = this.slotOf(fingerprint); this.table[slot] !== 0; slot = (slot + 1) & this.mask);
    this.table[slot] = fingerprint;
    this.order[this.next] = fingerprint;
    this.next = (this.next + 1) % this.capacity;
    this.count++;
  }

  /** Before one more fingerprint while not full: the order a place for it, the table at most half used. */
  private makeRoom(): void {
    if (this.count === this.order.length) {
      const order = new Float64Array(Math.min(this.capacity, this.order.length * 2));
      order.set(this.order);
      this.order = order;
    }
    if ((this.count + 1) * 2 <= this.table.length || this.table.length === this.fullSlots) return;
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.mask = this.table.length - 1;
    for (const at of old) {
      if (at === 0) continue;
      let slot = this.slotOf(at);
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = at;
    }
  }

  private remove(fingerprint: number): void {
    this.count--;
    let hole = -1;
    for (let i = this.slotOf(fingerprint); ; i = (i + 1) & this.mask) {
      const at = this.table[i]!;
      if (at === 0) return;
      if (at === fingerprint) {
        hole = i;
        break;
      }
    }
    this.table[hole] = 0;
    // Shift back the entries of the run after the hole that may not sit past it.
    for (let i = (hole + 1) & this.mask; this.table[i] !== 0; i = (i + 1) & this.mask) {
      const at = this.table[i]!;
      const home = this.slotOf(at);
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (between) continue;
      this.table[hole] = at;
      this.table[i] = 0;
      hole = i;
    }
  }

  private slotOf(fingerprint: number): number {
    return (fingerprint ^ (fingerprint / 4294967296)) & this.mask;
  }
}
