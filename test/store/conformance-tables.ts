/**
 * Conformance tables: for each algorithm, a schedule of (time, cost) requests against one
 * key and the exact answer a RateStore must give — 0 (admitted and recorded) or the wait in
 * ms (nothing recorded). Every store (memory, Redis) runs the same tables.
 */
import { toLimitSpecs, type LimitInput, type LimitSpec } from '../../src/index.js';

export interface Step {
  at: number;
  cost?: number;
  /** Expected answer: 0 = admitted, > 0 = wait in ms, Infinity = never. */
  wait: number;
}

export interface Table {
  name: string;
  limits: LimitSpec[];
  steps: Step[];
}

function specs(input: LimitInput | LimitInput[]): LimitSpec[] {
  return toLimitSpecs(input, {});
}

export const TABLES: Table[] = [
  {
    name: 'sliding-window 4/1s, paced (burst 1, no slack): one start every 250 ms, never 5 in a window',
    limits: specs({ rate: '4/1s', algorithm: 'sliding-window', burst: 1, slack: 0 }),
    steps: [
      { at: 0, wait: 0 },
      { at: 0, wait: 250 },
      { at: 100, wait: 150 },
      { at: 250, wait: 0 },
      { at: 500, wait: 0 },
      { at: 750, wait: 0 },
      { at: 999, wait: 1 }, // pacing allows at 1000; so does the window (the start at 0 expires)
      { at: 1000, wait: 0 },
      { at: 1250, wait: 0 },
    ],
  },
  {
    name: 'sliding-window 4/1s unpaced (burst = limit): 4 at once, then the window decides',
    limits: specs({ rate: '4/1s', algorithm: 'sliding-window', burst: 4 }),
    steps: [
      { at: 0, wait: 0 },
      { at: 0, wait: 0 },
      { at: 10, wait: 0 },
      { at: 20, wait: 0 },
      { at: 30, wait: 970 }, // the two starts at 0 expire at 1000
      { at: 999, wait: 1 },
      { at: 1000, cost: 2, wait: 0 },
      { at: 1000, wait: 10 },
      { at: 1010, wait: 0 },
      { at: 1010, cost: 5, wait: Number.POSITIVE_INFINITY },
    ],
  },
  {
    name: 'sliding-window 4/1s paced: a cost above burst waits for a full pacer, then borrows',
    limits: specs({ rate: '4/1s', algorithm: 'sliding-window', burst: 1, slack: 0 }),
    steps: [
      { at: 0, cost: 3, wait: 0 },
      { at: 0, wait: 750 },
      { at: 750, wait: 0 },
      { at: 750, wait: 250 }, // pacer: 1000; window: the cost 3 at 0 expires at 1000
      { at: 1000, cost: 4, wait: 750 }, // window holds 1 (at 750) until 1750
      { at: 1750, cost: 4, wait: 0 },
    ],
  },
  {
    name: 'sliding-window 4/10s unpaced: starts less than a quantum (T/10000 = 1 ms) after a bucket opens share its entry, counted until the latest leaves',
    limits: specs({ rate: '4/10s', algorithm: 'sliding-window', burst: 4 }),
    steps: [
      { at: 0, wait: 0 },
      { at: 0.25, wait: 0 },
      { at: 0.5, wait: 0 }, // one entry: cost 3 at 0.5
      { at: 1, wait: 0 }, // a quantum after 0: a new bucket
      { at: 1.5, wait: 9999 }, // the bucket of 0–0.5 leaves at 10000.5 (an exact log: 10000)
      { at: 10_000.25, wait: 0.25 },
      { at: 10_000.5, cost: 3, wait: 0 },
      { at: 10_000.75, wait: 0.25 }, // the start at 1 leaves at 10001
      { at: 10_001, wait: 0 }, // joins the bucket opened at 10000.5, now kept at 10001
      { at: 20_000.75, wait: 0.25 },
      { at: 20_001, cost: 4, wait: 0 },
    ],
  },
  {
    name: 'gcra 4/1s burst 2 (no slack): two at once, then one every 250 ms',
    limits: specs({ rate: '4/1s', algorithm: 'gcra', burst: 2, slack: 0 }),
    steps: [
      { at: 0, wait: 0 },
      { at: 0, wait: 0 },
      { at: 0, wait: 250 },
      { at: 250, wait: 0 },
      { at: 250, wait: 250 },
      { at: 300, cost: 3, wait: Number.POSITIVE_INFINITY },
      { at: 2000, cost: 2, wait: 0 },
      { at: 2000, wait: 250 },
    ],
  },
  {
    name: 'gcra 4/1s burst 1 with 1 ms slack: a wake-up up to 1 ms late keeps the schedule',
    limits: specs({ rate: '4/1s', algorithm: 'gcra', burst: 1, slack: 1 }),
    steps: [
      { at: 0, wait: 0 },
      { at: 0, wait: 249 }, // the timer is set 1 ms before the ideal instant (250)...
      { at: 249.5, wait: 0 }, // ...and fires half a millisecond late: still on schedule
      { at: 499, wait: 0 }, // so the next may start at 499, not 499.5
      { at: 500, wait: 249 },
      { at: 752, wait: 0 }, // 3 ms late, beyond slack: 2 ms are lost for good
      { at: 752, wait: 250 - 1 },
    ],
  },
  {
    name: 'fixed-window 4/1s: windows aligned to the clock, boundary burst of 2x',
    limits: specs({ rate: '4/1s', algorithm: 'fixed-window' }),
    steps: [
      { at: 996, wait: 0 },
      { at: 997, wait: 0 },
      { at: 998, wait: 0 },
      { at: 999, wait: 0 },
      { at: 999.5, wait: 0.5 },
      { at: 1000, cost: 4, wait: 0 }, // 8 starts within 5 ms: the documented boundary burst
      { at: 1500, wait: 500 },
      { at: 2000, cost: 5, wait: Number.POSITIVE_INFINITY },
    ],
  },
  {
    name: 'multi-limit 2/1s + 3/10s: a refusal by one takes nothing from the other',
    limits: specs([
      { rate: '2/1s', algorithm: 'sliding-window', burst: 2 },
      { rate: '3/10s', algorithm: 'sliding-window', burst: 3 },
    ]),
    steps: [
      { at: 0, wait: 0 },
      { at: 0, wait: 0 },
      { at: 0, wait: 1000 }, // the 1 s limit refuses: the 10 s limit must not count this
      { at: 1000, wait: 0 }, // third start of 10 s
      { at: 1000, wait: 9000 }, // 10 s limit full until the starts at 0 expire
      { at: 10_000, cost: 2, wait: 0 },
    ],
  },
];
