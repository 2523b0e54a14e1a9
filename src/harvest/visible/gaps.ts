import type { Gap } from '../gaps.js';
import { formatCount } from './format.js';

/**
 * gapLines: each way the harvest is incomplete as one line — what is missing, and what gets
 * it: `--retry-failed`, running the same command again, an option to change, or nothing the
 * harvest can do (the server stated more than it serves). `failedFile` is where failed pages
 * are listed, when there is an output file; `sink`, the `--sink` whose state keeps them.
 */
export function gapLines(gaps: readonly Gap[], failedFile: string | undefined, sink?: string | undefined): string[] {
  return gaps.map((gap) => {
    switch (gap.kind) {
      case 'failed': {
        const short = gap.short > 0 ? ` (${formatCount(gap.short)} of them short: their records so far are written)` : '';
        // With --sink the failed pages are kept in the state the sink holds: no file lists them, --retry-failed still fetches them.
        const where = failedFile !== undefined ? `, listed in ${failedFile}` : sink !== undefined ? `, kept in the state in ${sink}` : '';
        const fix = failedFile === undefined && sink === undefined ? 'harvest with --out to keep them and fetch them again' : '--retry-failed fetches them again';
        return `${formatCount(gap.pages)} pages not written whole${short}${where}; ${fix}`;
      }
      case 'stopped': {
        const page = gap.index === undefined ? gap.url : `page ${gap.index} (${gap.url})`;
        if (gap.cause === 'refused') return `stopped ${gap.reason.startsWith('after this page') ? `after ${page}` : `at ${page}`}: ${gap.reason.replace(/^after this page: /, '')}; then run the same command again`;
        if (gap.cause === 'loop') return `stopped at ${page}: ${gap.reason.replace(/^after this page: /, '')}. Nothing was written twice; check the pagination options (--paginate, --next, the template's page or cursor parameter) — the same command stops here again`;
        return `stopped at ${page}: ${gap.reason}; run the same command again to resume from it`;
      }
      case 'short-of-total': {
        const where = gap.emptyFrom === undefined ? 'its last page came' : `its pages were empty from page ${gap.emptyFrom} on`;
        const fix = gap.emptyFrom === undefined ? 'the API lists no more (its total may count what it does not list)' : '--retry-failed asks from there again';
        return `the server stated ${formatCount(gap.stated)} records, but ${where} after ${formatCount(gap.written)}; ${fix}`;
      }
    }
  });
}
