import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { valueAt, type PathStep } from '../json-path.js';

/**
 * recordsBetween: the NDJSON records of `file` from byte `start` to byte `end` (a committed
 * range: every line in it is whole), one at a time — a parent's records, read back for its
 * children without holding them all.
 */
export async function* recordsBetween(file: string, start: number, end: number): AsyncGenerator<string> {
  if (end <= start) return;
  const lines = createInterface({ input: createReadStream(file, { start, end: end - 1 }), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') yield line;
}

/**
 * withParentFields: a child record's JSON text with fields of its parent added in front, as
 * `_PARENT_FIELD` (dlt's naming): `{"_issues_number":7,…}`. The child's own text is kept as
 * sent; a record that is not an object is kept as it is.
 */
export function withParentFields(record: string, parent: unknown, parentName: string, fields: readonly string[]): string {
  if (fields.length === 0 || !record.startsWith('{')) return record;
  const added = fields.map((f) => `${JSON.stringify(`_${parentName}_${f.replace(/\W+/g, '_')}`)}:${JSON.stringify(valueAt(parent, f.split('.')) ?? null)}`);
  return `{${added.join(',')}${record === '{}' ? '' : ','}${record.slice(1)}`;
}

/** The largest cursor value among `records` (and `from`): ISO timestamps compare as times, numbers as numbers. */
export function maxCursor(records: readonly string[], path: readonly PathStep[], from: string | number | undefined): string | number | undefined {
  let best = from;
  for (const text of records) {
    let value: unknown;
    try {
      value = valueAt(JSON.parse(text), path);
    } catch {
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    if (best === undefined || compareCursor(value, best) > 0) best = value;
  }
  return best;
}

function compareCursor(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const ta = Date.parse(String(a));
  const tb = Date.parse(String(b));
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Where a sync from `cursor` starts: the cursor less the lag (ms for a timestamp, units for a number). */
export function sinceOf(cursor: string | number, lag: number): string | number {
  if (typeof cursor === 'number') return cursor - lag;
  if (lag === 0) return cursor;
  const ms = Date.parse(cursor);
  return Number.isNaN(ms) ? cursor : new Date(ms - lag).toISOString();
}
