import { ConfigError } from '../../core/errors.js';
import { formatPath, parseJsonPath, valueAt, type PathStep } from '../json-path.js';

/** `{resources.issues.number}`: a field of the parent record a child is fetched for. */
export interface ParentRef {
  resource: string;
  field: PathStep[];
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * parentRefs: the `{resources.NAME.FIELD}` placeholders of a path or parameter value
 * (FIELD may be nested: `{resources.repos.owner.login}`). Anything else in braces is
 * refused, naming `path`: harvest puts the page parameters in itself.
 */
export function parentRefs(text: string, path: string): ParentRef[] {
  const refs: ParentRef[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const inner = m[1]!;
    const ref = /^resources\.([A-Za-z_][\w-]*)\.(.+)$/.exec(inner);
    if (!ref) throw new ConfigError(path, text, `has {${inner}}: the only placeholders here are a parent's fields, {resources.NAME.FIELD}`);
    refs.push({ resource: ref[1]!, field: parseJsonPath(ref[2]!, path) });
  }
  if (/[{}]/.test(text.replace(PLACEHOLDER, ''))) throw new ConfigError(path, text, 'has an unclosed { or a stray }');
  return refs;
}

/**
 * fillParent: `text` with each parent placeholder replaced by that field of `record`,
 * URL-encoded unless `encode` is false (a parameter value is encoded whole afterwards) — a
 * title with `/` or `?` stays one path segment. Throws ParentFieldError
 * when the record lacks the field or it is not a string, number or boolean.
 */
export function fillParent(text: string, record: unknown, encode = true): string {
  return text.replace(PLACEHOLDER, (_m, inner: string) => {
    const ref = /^resources\.[A-Za-z_][\w-]*\.(.+)$/.exec(inner)!;
    const field = parseJsonPath(ref[1]!, 'placeholder');
    const value = valueAt(record, field);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new ParentFieldError(formatPath(field), value);
    return encode ? encodeURIComponent(String(value)) : String(value);
  });
}

/**
 * fillParentBody: a JSON body with the parent placeholders of its strings filled from
 * `record`. A string that is one placeholder and nothing else takes the field's value as
 * it is — a number stays a number, an array an array — and any other string takes the
 * text (not URL-encoded: a body is not a URL). Throws ParentFieldError for a missing field.
 */
export function fillParentBody(value: unknown, record: unknown): unknown {
  if (typeof value === 'string') {
    const whole = /^\{resources\.[A-Za-z_][\w-]*\.([^{}]+)\}$/.exec(value);
    if (whole === null) return fillParent(value, record, false);
    const field = parseJsonPath(whole[1]!, 'placeholder');
    const taken = valueAt(record, field);
    if (taken === undefined) throw new ParentFieldError(formatPath(field), taken);
    return taken;
  }
  if (Array.isArray(value)) return value.map((v) => fillParentBody(v, record));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillParentBody(v, record)]));
  return value;
}

/** A parent record without the field a child's path needs: that child cannot be asked for. */
export class ParentFieldError extends Error {
  override name = 'ParentFieldError';
  constructor(
    readonly field: string,
    value: unknown,
  ) {
    super(`the parent record has ${value === undefined ? 'no' : `a ${value === null ? 'null' : typeof value}`} ${field}`);
  }
}
