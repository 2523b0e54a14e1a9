import { StateRefusedError } from './harvest-errors.js';

/**
 * checkStateFields: a parsed state file checked field by field before anything trusts it —
 * every count a whole number in range, every URL an http(s) URL, every shape the one its
 * pagination has. A file edited by hand or damaged is refused naming the first field that
 * is wrong, rather than emptying the output (a negative length), writing pages twice (a
 * negative or fractional index) or failing later with a raw error.
 *
 * Versions 1 to 3 share the counts; version 1 is one flat record, 2 and 3 one shape per
 * pagination (3 adds the fields of an incomplete harvest: pageSize, emptyFrom, short, a
 * cursor's total, a short page's written).
 */
export function checkStateFields(file: unknown, path: string): void {
  const check = new FieldCheck(path);
  const f = check.object(file, 'the file');
  const version = f.version;
  if (version !== 1 && version !== 2 && version !== 3) throw new StateRefusedError(path, `is not a harvest state file this version reads (version ${JSON.stringify(version)}); remove it to start over`);
  for (const field of ['bytes', 'records', 'pages'] as const) check.count(f[field], field);
  // Each record is a line of at least two bytes (`0\n`).
  if ((f.bytes as number) < 2 * (f.records as number)) check.fail('bytes', f.bytes, `is too few for the ${f.records as number} records counted`);
  if (version === 1) {
    check.count(f.nextIndex, 'nextIndex');
    if (typeof f.done !== 'boolean') check.fail('done', f.done, 'must be true or false');
    if (f.totalPages !== undefined) check.count(f.totalPages, 'totalPages');
    if (f.totalRecords !== undefined) check.count(f.totalRecords, 'totalRecords');
    if (f.nextUrl !== undefined && f.nextUrl !== null) check.url(f.nextUrl, 'nextUrl');
    check.array(f.failed, 'failed').forEach((entry, i) => {
      const e = check.object(entry, `failed[${i}]`);
      if (e.index !== undefined) check.count(e.index, `failed[${i}].index`);
      check.string(e.reason, `failed[${i}].reason`);
    });
    return;
  }
  if (f.stopped !== undefined) {
    const stopped = check.object(f.stopped, 'stopped');
    check.failure(stopped, 'stopped');
    if (stopped.cause !== undefined && !['failed', 'refused', 'loop'].includes(stopped.cause as string)) check.fail('stopped.cause', stopped.cause, 'must be failed, refused or loop');
  }
  if (f.paginate === 'offset' || f.paginate === 'page') {
    check.count(f.nextIndex, 'nextIndex');
    if (f.pageSize !== undefined) check.count(f.pageSize, 'pageSize', 1);
    if (f.end !== undefined) check.count(f.end, 'end');
    if (f.emptyFrom !== undefined) check.count(f.emptyFrom, 'emptyFrom');
    if (f.total !== undefined) {
      const total = check.object(f.total, 'total');
      check.count(total.records, 'total.records');
      check.count(total.pages, 'total.pages');
    }
    if (f.short !== undefined) {
      const short = check.object(f.short, 'short');
      check.count(short.index, 'short.index');
      check.count(short.records, 'short.records', 1);
    }
    const failed = check.array(f.failed, 'failed');
    // Every page before nextIndex was written, failed, or is one of the empty pages at the end.
    const emptyRun = f.emptyFrom === undefined ? 0 : Math.max(0, (f.nextIndex as number) - (f.emptyFrom as number));
    if ((f.pages as number) < (f.nextIndex as number) - failed.length - emptyRun) check.fail('nextIndex', f.nextIndex, `is past the pages written (${f.pages as number}) and failed (${failed.length})`);
    failed.forEach((entry, i) => {
      const e = check.object(entry, `failed[${i}]`);
      check.count(e.index, `failed[${i}].index`);
      if ((e.index as number) >= (f.nextIndex as number)) check.fail(`failed[${i}].index`, e.index, 'must be before nextIndex');
      if (e.written !== undefined) check.count(e.written, `failed[${i}].written`);
      check.failure(e, `failed[${i}]`);
    });
    return;
  }
  if (f.paginate === 'cursor' || f.paginate === 'link') {
    const next = check.object(f.next, 'next');
    if (next.at === 'url' || next.at === 'after') check.url(next.url, 'next.url');
    else if (next.at !== 'first' && next.at !== 'end') check.fail('next.at', next.at, 'must be first, url, after or end');
    if (next.at === 'first' && f.pages !== 0) check.fail('pages', f.pages, 'must be 0 while next is the first page');
    if (f.total !== undefined) check.count(f.total, 'total');
    return;
  }
  check.fail('paginate', f.paginate, 'must be offset, page, cursor or link');
}

class FieldCheck {
  constructor(private readonly path: string) {}

  fail(field: string, value: unknown, reason: string): never {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : JSON.stringify(value) ?? String(value);
    throw new StateRefusedError(this.path, `field ${field} ${reason} (got ${shown}); the file was edited or damaged — remove it and the output to start over, or restore the file`);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, value, 'must be an object');
    return value as Record<string, unknown>;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, value, 'must be an array');
    return value;
  }

  count(value: unknown, field: string, min = 0): void {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(field, value, `must be a whole number >= ${min}`);
  }

  string(value: unknown, field: string): void {
    if (typeof value !== 'string') this.fail(field, value, 'must be a string');
  }

  url(value: unknown, field: string): void {
    let ok = false;
    try {
      ok = typeof value === 'string' && /^https?:$/.test(new URL(value).protocol);
    } catch {
      ok = false;
    }
    if (!ok) this.fail(field, value, 'must be an http or https URL');
  }

  failure(value: Record<string, unknown>, field: string): void {
    this.string(value.url, `${field}.url`);
    this.string(value.reason, `${field}.reason`);
  }
}
