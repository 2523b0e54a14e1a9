import { ConfigError } from '../core/errors.js';

/** One step of a parsed path: an object key or an array index. */
export type PathStep = string | number;

/**
 * parseJsonPath: `--items` / `--next` paths as users write them — `results`, `data.items`,
 * `meta.paging.next`, `pages[0].rows`, with an optional leading `$.` (JSONPath habit) and
 * `['odd key']` for keys with dots. `$` or an empty string is the body itself.
 * Throws ConfigError naming `field` for anything else, before any request.
 */
export function parseJsonPath(text: string, field: string): PathStep[] {
  let rest = text.trim();
  if (rest === '$' || rest === '') return [];
  if (rest.startsWith('$.')) rest = rest.slice(2);
  else if (rest.startsWith('$[')) rest = rest.slice(1);
  const steps: PathStep[] = [];
  const token = /^(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  let first = true;
  while (rest.length > 0) {
    if (first && rest.startsWith('.')) break; // a leading dot is malformed
    const match = token.exec(rest);
    if (!match || (first && match[0].startsWith('.'))) break;
    if (match[1] !== undefined) steps.push(match[1]);
    else if (match[2] !== undefined) steps.push(Number(match[2]));
    else steps.push((match[3] ?? match[4])!);
    rest = rest.slice(match[0].length);
    first = false;
  }
  if (rest.length > 0) throw new ConfigError(field, text, "must be a path like 'results', 'data.items' or 'pages[0].rows'");
  return steps;
}

/** The value at `path` in `value`, or undefined when any step is missing. Never throws. */
export function valueAt(value: unknown, path: readonly PathStep[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (!Object.prototype.hasOwnProperty.call(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

/** How a path is shown in messages: the way a user would write it. */
export function formatPath(path: readonly PathStep[]): string {
  if (path.length === 0) return '$';
  // A first key `$` is bracketed: bare, `$`, `$.x` and `$[0]` read as the root.
  const bare = (s: string, i: number): boolean => /^[A-Za-z_$][\w$-]*$/.test(s) && !(i === 0 && s === '$');
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : bare(s, i) ? (i === 0 ? s : `.${s}`) : `['${s}']`)).join('');
}
