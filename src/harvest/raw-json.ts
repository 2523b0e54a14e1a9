import type { PathStep } from './json-path.js';

/**
 * Raw JSON: the text of a value as the server sent it, found by path in a body that
 * JSON.parse has already accepted. Records are written from this text rather than
 * re-serialised, so what JSON.parse would change stays as sent: integers beyond 2^53
 * (`12345678901234567890`), `1.0`, `1e3`, `-0`, escapes such as `\u00e9`.
 *
 * Only valid JSON comes here (the caller parsed it first), so the scanner checks nothing
 * but where each value begins and ends. Object keys are compared decoded, and the last of
 * duplicate keys wins, as in JSON.parse.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just after the string whose opening quote is at `i`. */
function stringEnd(text: string, i: number): number {
  for (let j = text.indexOf('"', i + 1); j >= 0; j = text.indexOf('"', j + 1)) {
    let slashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return j + 1;
  }
  return text.length;
}

/** Where the value starting at `i` ends, and whether whitespace sits inside it (outside strings). */
function valueEnd(text: string, i: number): { end: number; spaced: boolean } {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return { end: stringEnd(text, i), spaced: false };
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let j = i;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
      j++;
    }
    return { end: j, spaced: false };
  }
  let depth = 0;
  let spaced = false;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) j = stringEnd(text, j) - 1;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return { end: j + 1, spaced };
    } else if (isSpace(c)) spaced = true;
  }
  return { end: text.length, spaced };
}

/** The value's text without the whitespace outside its strings: one NDJSON line. */
function compact(text: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let j = start; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) j = stringEnd(text, j) - 1;
    else if (isSpace(c)) {
      out += text.slice(from, j);
      from = j + 1;
    }
  }
  return out + text.slice(from, end);
}

/** The start of the value at `path` in the value starting at `i`, or -1 when a step is missing. */
function locate(text: string, i: number, path: readonly PathStep[], step = 0): number {
  if (step === path.length) return i;
  const want = path[step]!;
  const open = text.charCodeAt(i);
  let found = -1;
  if (typeof want === 'number') {
    if (open !== OPEN_BRACKET) return -1;
    let j = skipSpace(text, i + 1);
    for (let n = 0; text.charCodeAt(j) !== CLOSE_BRACKET; n++) {
      if (n === want) return locate(text, j, path, step + 1);
      j = skipSpace(text, valueEnd(text, j).end);
      if (text.charCodeAt(j) === COMMA) j = skipSpace(text, j + 1);
    }
    return -1;
  }
  if (open !== OPEN_BRACE) return -1;
  let j = skipSpace(text, i + 1);
  while (text.charCodeAt(j) === QUOTE) {
    const keyEnd = stringEnd(text, j);
    const raw = text.slice(j + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(text.slice(j, keyEnd)) as string) : raw;
    j = skipSpace(text, skipSpace(text, keyEnd) + 1); // past the colon
    if (key === want) found = j; // the last duplicate wins, as in JSON.parse
    j = skipSpace(text, valueEnd(text, j).end);
    if (text.charCodeAt(j) === COMMA) j = skipSpace(text, j + 1);
  }
  return found < 0 ? -1 : locate(text, found, path, step + 1);
}

/** rawAt: the text of the value at `path` (compacted), or undefined when there is none. */
export function rawAt(text: string, path: readonly PathStep[]): string | undefined {
  const at = locate(text, skipSpace(text, 0), path);
  if (at < 0) return undefined;
  const { end, spaced } = valueEnd(text, at);
  return spaced ? compact(text, at, end) : text.slice(at, end);
}

/**
 * rawElements: each element of the array at `path`, as its own compacted text — the lines
 * of NDJSON a page's records become. Undefined when there is no array there.
 */
export function rawElements(text: string, path: readonly PathStep[]): string[] | undefined {
  const at = locate(text, skipSpace(text, 0), path);
  if (at < 0 || text.charCodeAt(at) !== OPEN_BRACKET) return undefined;
  const lines: string[] = [];
  let j = skipSpace(text, at + 1);
  while (j < text.length && text.charCodeAt(j) !== CLOSE_BRACKET) {
    const { end, spaced } = valueEnd(text, j);
    lines.push(spaced ? compact(text, j, end) : text.slice(j, end));
    j = skipSpace(text, end);
    if (text.charCodeAt(j) === COMMA) j = skipSpace(text, j + 1);
  }
  return lines;
}
