import { checkAmount } from './rate-limiter-options.js';

/** What a Reservation asks of its limiter: a correction of the start stamped `at`. */
export interface Corrections {
  refund(units: number, at: number): Promise<void>;
  charge(units: number, at: number): Promise<void>;
}

/**
 * Reservation: one start a RateLimiter admitted (`RateLimiter.reserve`), kept so that it can
 * be corrected once its real use is known — an LLM call reserved at its estimate and
 * answered with its usage. The start is known by the instant its store recorded it, so a
 * correction acts on this start, whatever was admitted since (in this process or, over a
 * RedisStore, in any other):
 *
 * - `refund(units)` gives back units it did not use. The window frees them when this start
 *   leaves it — as the server's does, not sooner — and a pacer gets back what the starts
 *   after it have not used (see each algorithm in src/algorithms/). Once the start has left
 *   every window there is nothing left to give back.
 * - `charge(units)` records units it used beyond its cost, without asking: windows count
 *   them at this start, where the server counted them (so they leave with it, not later),
 *   pacers from now. It may push a limit past full; later callers wait until it drains.
 *
 * A reservation never gives back more than it holds (its cost, less refunds, plus charges).
 */
export class Reservation {
  private held: number;

  constructor(
    cost: number,
    /** The instant the store recorded the start, on its clock (StartStamp); NaN if refunds cannot reach it. */
    private readonly at: number,
    private readonly limiter: Corrections,
  ) {
    this.held = cost;
  }

  /** The units this start holds now: its cost, less what was given back, plus what was charged. */
  get units(): number {
    return this.held;
  }

  /** Gives back `units` of this start (default: all it holds; never more). Waiters may start sooner. */
  async refund(units: number = this.held): Promise<void> {
    if (units !== this.held) checkAmount(units, 'units');
    const back = Math.min(units, this.held);
    if (!(back > 0)) return;
    this.held -= back;
    await this.limiter.refund(back, this.at);
  }

  /** Records `units` this start used beyond what it holds, counted where it started. */
  async charge(units: number): Promise<void> {
    checkAmount(units, 'units');
    this.held += units;
    await this.limiter.charge(units, this.at);
  }

  /** Corrects this start to `used` units in all: the excess given back, a shortfall charged. */
  async settle(used: number): Promise<void> {
    if (!(typeof used === 'number' && Number.isFinite(used) && used >= 0)) checkAmount(used, 'used');
    if (used < this.held) await this.refund(this.held - used);
    else if (used > this.held) await this.charge(used - this.held);
  }
}
