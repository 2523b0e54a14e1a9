import { fingerprintOf, FingerprintWindow } from './fingerprints.js';

/** Page URLs remembered: a cursor cycle up to this many pages long is caught at its first repeat. */
const URL_WINDOW = 1 << 16;
/** Record lines remembered: a page repeating any of the last this many records is recognised. */
const RECORD_WINDOW = 1 << 17;

/**
 * LoopGuard: what keeps a server that goes round in circles from filling the output with
 * the same records — in constant memory (about 5 MB), however long the harvest.
 *
 * - A page URL already fetched in this run (a cursor or link that leads back: A → B → A,
 *   a page that names itself) is not fetched again.
 * - A page whose records were all written already — among the last RECORD_WINDOW records,
 *   this run's or, after a resume, those at the end of the output — is not written: the
 *   server is serving the same page again (it ignores the page parameter, or a cycle began
 *   before a resume).
 *
 * The assumption behind the second: a data set does not hold a whole page of records
 * identical to earlier ones. A page that repeats only some records is written whole.
 */
export class LoopGuard {
  private readonly urls = new FingerprintWindow(URL_WINDOW);
  private readonly records = new FingerprintWindow(RECORD_WINDOW);
  /** A page's fingerprints between `repeats` and `written`, so each line is hashed once. */
  private readonly prints = new WeakMap<readonly string[], Float64Array>();

  /** The last records of the output, from an earlier run, to recognise a repeat of them. */
  static readonly tailRecords = RECORD_WINDOW;

  /** Whether `url` was fetched already in this run. */
  fetched(url: string): boolean {
    return this.urls.has(fingerprintOf(url));
  }

  /** Remembers that `url` is being fetched. */
  fetching(url: string): void {
    this.urls.add(fingerprintOf(url));
  }

  /** Whether `lines` (a page's records) are not empty and every one of them was written already. */
  repeats(lines: readonly string[]): boolean {
    if (lines.length === 0) return false;
    const prints = this.printsOf(lines);
    for (const print of prints) if (!this.records.has(print)) return false;
    return true;
  }

  /** Remembers records as written. */
  written(lines: readonly string[]): void {
    for (const print of this.printsOf(lines)) this.records.add(print);
  }

  private printsOf(lines: readonly string[]): Float64Array {
    let prints = this.prints.get(lines);
    if (prints === undefined) {
      prints = new Float64Array(lines.length);
      for (let i = 0; i < lines.length; i++) prints[i] = fingerprintOf(lines[i]!);
      this.prints.set(lines, prints);
    }
    return prints;
  }
}
