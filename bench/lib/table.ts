/**
 * Result tables: one aligned text table for the terminal and the same table in markdown
 * for BENCHMARKS.md. A row may name a `ref` row (a sluice row); each of its cells then
 * shows `ref / this` as a ratio, so "2.0×" always reads "sluice is twice this peer"
 * for higher-is-better columns (for lower-is-better columns, e.g. bytes, the ratio is
 * still sluice / peer, and below 1 is better).
 */

export type Cell = number | string | undefined;

export interface Column {
  key: string;
  title: string;
  /** How to print a number in this column. Default: `fmtNumber`. */
  format?: (value: number) => string;
  /** Print `ref / value` ratios in this column. Default true. */
  ratio?: boolean;
}

export interface Row {
  name: string;
  /** What the library's feature is (e.g. "fixed 1 s window"), printed beside the name. */
  note?: string;
  /** Name of the row this one is compared to: ratios show ref / this. */
  ref?: string;
  values: Record<string, Cell>;
}

/** 1234567 → "1.23M", 45678 → "45.7k", 12.3 → "12.3". */
export function fmtNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export const fmtInt = (value: number): string => Math.round(value).toLocaleString('en-US');
export const fmtPercent = (value: number): string => `${value.toFixed(1)}%`;
export const fmtMs = (value: number): string => `${value.toFixed(3)} ms`;

function cellText(row: Row, column: Column, rows: readonly Row[]): string {
  const value = row.values[column.key];
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  const text = (column.format ?? fmtNumber)(value);
  if (row.ref === undefined || column.ratio === false) return text;
  const ref = rows.find((r) => r.name === row.ref)?.values[column.key];
  if (typeof ref !== 'number' || value === 0) return text;
  return `${text} (${(ref / value).toFixed(2)}×)`;
}

function grid(columns: readonly Column[], rows: readonly Row[]): string[][] {
  const header = ['', ...columns.map((c) => c.title)];
  const body = rows.map((row) => [row.note ? `${row.name} — ${row.note}` : row.name, ...columns.map((c) => cellText(row, c, rows))]);
  return [header, ...body];
}

/** The table as aligned plain text. */
export function textTable(columns: readonly Column[], rows: readonly Row[]): string {
  const cells = grid(columns, rows);
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/** The table as markdown. */
export function markdownTable(columns: readonly Column[], rows: readonly Row[]): string {
  const [header, ...body] = grid(columns, rows);
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header!), line(header!.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

/** Prints a titled table, then its markdown between fences for pasting into BENCHMARKS.md. */
export function printTable(title: string, columns: readonly Column[], rows: readonly Row[], footnote?: string): void {
  console.log(`\n${title}\n`);
  console.log(textTable(columns, rows));
  if (footnote) console.log(`\n${footnote}`);
  console.log('\n```markdown');
  console.log(markdownTable(columns, rows));
  if (footnote) console.log(`\n${footnote}`);
  console.log('```');
}

/** One line naming the machine, for the head of every benchmark's output. */
export async function machineLine(): Promise<string> {
  const os = await import('node:os');
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `node ${process.version}, ${os.availableParallelism()} cores (${cpu}), load ${load}, ${new Date().toISOString().slice(0, 16)}Z`;
}
