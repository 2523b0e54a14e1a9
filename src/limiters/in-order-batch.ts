/** The most waiters one reserveInOrder call asks about. */
const MAX_IN_ORDER_BATCH = 64;

/**
 * InOrderBatch: a queue's asks to a store that decides in order (RateStore.reserveInOrder),
 * and how many waiters each covers — doubled while all are admitted, cut to one more than
 * were admitted at a refusal — so a limit that binds is asked about one or two at a time,
 * and a queue that drains fast in large batches.
 */
export class InOrderBatch {
  size = 16;

  constructor(
    /** The store's reserveInOrder for the queue's key and limits. */
    readonly ask: (costs: readonly number[], now: number, stamps: readonly ({ at: number } | undefined)[]) => Promise<number[]>,
  ) {}

  /** Every waiter asked about was admitted: ask about more next time. */
  allAdmitted(): void {
    this.size = Math.min(MAX_IN_ORDER_BATCH, this.size * 2);
  }

  /** The store refused the waiter after the first `admitted`. */
  refusedAfter(admitted: number): void {
    this.size = admitted + 1;
  }
}
