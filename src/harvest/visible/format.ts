// Number and time formats shared by the progress line, the summary and the report, so
// the three never disagree about how a figure reads. Fixed to en-US digits: output that
// changes with the machine's locale cannot be compared or grepped.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** formatCount: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return grouped.format(n);
}

/**
 * formatRate: per-second figure with precision that suits its size: 0.25, 9.5, 19.8, 1,250.
 * One decimal from 1/s up, so a live rate does not flicker in its hundredths.
 */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond >= 100) return formatCount(Math.round(perSecond));
  if (perSecond >= 1) return String(Number(perSecond.toFixed(1)));
  return String(Number(perSecond.toFixed(2)));
}

/** formatDuration: 850 → "850ms", 42_000 → "42s", 252_000 → "4m12s", 3_780_000 → "1h03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** formatCountdown: whole seconds rounded up, so "resets in 0s" never shows while waiting. */
export function formatCountdown(ms: number): string {
  const seconds = Math.ceil(Math.max(0, ms) / 1000);
  return seconds === 0 ? '0s' : formatDuration(seconds * 1000);
}

/** formatBytes: 1536 → "1.5 KB" (powers of 1024). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** formatMs: a latency: "4.2ms", "120ms", "1.43s", "12.5s"; longer ones as a duration. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))}s`;
  return formatDuration(ms);
}

/** formatPercent: 0.987 → "99%"; below 10 % with one decimal. */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  return p < 10 ? `${Number(p.toFixed(1))}%` : `${Math.round(p)}%`;
}
