import type { HarvestSnapshot } from '../monitor.js';
import { formatCount, formatCountdown, formatDuration, formatPercent, formatRate } from './format.js';

/** One piece of the progress line; when the terminal is narrow the lowest priority goes first. */
export interface Segment {
  text: string;
  priority: number;
}

/**
 * progressSegments: the facts of the progress line in reading order. `now` is clock ms,
 * for the countdown of a pause. Counts that are zero and say nothing (no 429s yet, no
 * failures) are left out rather than shown as noise.
 */
export function progressSegments(s: HarvestSnapshot, now: number): Segment[] {
  const segments: Segment[] = [];
  const records = s.totalRecords !== undefined
    ? `${formatCount(s.records)}/${formatCount(s.totalRecords)} records (${formatPercent(s.totalRecords > 0 ? s.records / s.totalRecords : 1)})`
    : `${formatCount(s.records)} records`;
  segments.push({ text: records, priority: 10 });
  const pages = s.totalPages !== undefined ? `${formatCount(s.pages)}/${formatCount(s.totalPages)} pages` : `${formatCount(s.pages)} pages`;
  segments.push({ text: pages, priority: 4 });
  const limit = s.rateLimit !== undefined ? ` of ${formatRate(s.rateLimit)}/s` : '';
  segments.push({ text: `${formatRate(s.recentRate)}/s${limit}`, priority: 8 });
  if (s.throttled > 0) segments.push({ text: `429s ${formatCount(s.throttled)}`, priority: 6 });
  if (s.retries > 0) segments.push({ text: `retries ${formatCount(s.retries)}`, priority: 3 });
  if (s.failedPages > 0) segments.push({ text: `failed ${formatCount(s.failedPages)}`, priority: 7 });
  if (s.concurrencyLimit > 0) segments.push({ text: `in flight ${s.inFlight}/${s.concurrencyLimit}`, priority: 5 });
  // Whole seconds rounded up: "ETA 0s" only when nothing is left, never "ETA 850ms".
  if (s.etaMs !== undefined) segments.push({ text: `ETA ${formatCountdown(s.etaMs)}`, priority: 7 });
  if (s.pausedUntil !== undefined) {
    segments.push({ text: `paused: quota resets in ${formatCountdown(s.pausedUntil - now)}`, priority: 9 });
  }
  return segments;
}

const SEPARATOR = ' · ';

/**
 * fitLine: the segments joined, dropping the least important ones until the line fits in
 * `columns - 1` (writing the last column makes some terminals wrap, and a wrapped line
 * cannot be redrawn in place). A lone segment still too long is cut with an ellipsis.
 */
export function fitLine(segments: readonly Segment[], columns: number): string {
  const room = Math.max(1, columns - 1);
  const kept = [...segments];
  let line = kept.map((s) => s.text).join(SEPARATOR);
  while (line.length > room && kept.length > 1) {
    let lowest = 0;
    for (let i = 1; i < kept.length; i++) if (kept[i]!.priority < kept[lowest]!.priority) lowest = i;
    kept.splice(lowest, 1);
    line = kept.map((s) => s.text).join(SEPARATOR);
  }
  return line.length > room ? `${line.slice(0, room - 1)}…` : line;
}

/** plainLine: every segment, prefixed with the elapsed time, for logs (no width limit). */
export function plainLine(s: HarvestSnapshot, now: number): string {
  return `[${formatDuration(s.elapsedMs)}] ${progressSegments(s, now).map((seg) => seg.text).join(', ')}`;
}
