/**
 * A small parser for RFC 9651 structured-field Lists of Items, enough for the IETF
 * RateLimit and RateLimit-Policy fields. Inner lists are not used by those fields and make
 * the whole field invalid here, as does any other syntax error: the draft says malformed
 * RateLimit fields MUST be ignored, so callers get undefined rather than half a list.
 */

/** A token (`foo`) or byte sequence (`:aGk=:`), kept apart from strings as the RFC does. */
export type BareItem = number | string | boolean | { token: string } | { bytes: string };

export interface SfItem {
  value: BareItem;
  params: Map<string, BareItem>;
}

const NUMBER = /-?\d{1,15}(?:\.\d{1,3})?/y;
const TOKEN = /[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/y;
const KEY = /[a-z*][a-z0-9_\-.*]*/y;
const BYTES = /:([A-Za-z0-9+/=]*):/y;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): string | undefined {
    return this.text[this.pos];
  }
  skip(chars: string): void {
    while (this.pos < this.text.length && chars.includes(this.text[this.pos]!)) this.pos++;
  }
  match(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.pos;
    const found = pattern.exec(this.text);
    if (found) this.pos = pattern.lastIndex;
    return found;
  }
}

/** Parses a List field; undefined when it is not a valid List of Items. */
export function parseSfList(input: string): SfItem[] | undefined {
  const cursor = new Cursor(input);
  const items: SfItem[] = [];
  cursor.skip(' ');
  if (cursor.peek() === undefined) return items;
  for (;;) {
    const item = parseItem(cursor);
    if (!item) return undefined;
    items.push(item);
    cursor.skip(' \t');
    if (cursor.peek() === undefined) return items;
    if (cursor.peek() !== ',') return undefined;
    cursor.pos++;
    cursor.skip(' \t');
    if (cursor.peek() === undefined) return undefined; // a trailing comma is an error in RFC 9651
  }
}

function parseItem(cursor: Cursor): SfItem | undefined {
  const value = parseBareItem(cursor);
  if (value === undefined) return undefined;
  const params = new Map<string, BareItem>();
  while (cursor.peek() === ';') {
    cursor.pos++;
    cursor.skip(' ');
    const key = cursor.match(KEY);
    if (!key) return undefined;
    let param: BareItem = true;
    if (cursor.peek() === '=') {
      cursor.pos++;
      const parsed = parseBareItem(cursor);
      if (parsed === undefined) return undefined;
      param = parsed;
    }
    params.set(key[0], param);
  }
  return { value, params };
}

function parseBareItem(cursor: Cursor): BareItem | undefined {
  const c = cursor.peek();
  if (c === undefined) return undefined;
  if (c === '-' || (c >= '0' && c <= '9')) {
    const found = cursor.match(NUMBER);
    return found ? Number(found[0]) : undefined;
  }
  if (c === '"') return parseString(cursor);
  if (c === ':') {
    const found = cursor.match(BYTES);
    return found ? { bytes: found[1]! } : undefined;
  }
  if (c === '?') {
    const flag = cursor.text[cursor.pos + 1];
    if (flag !== '0' && flag !== '1') return undefined;
    cursor.pos += 2;
    return flag === '1';
  }
  const token = cursor.match(TOKEN);
  return token ? { token: token[0] } : undefined;
}

function parseString(cursor: Cursor): string | undefined {
  let out = '';
  cursor.pos++; // opening quote
  for (;;) {
    const c = cursor.peek();
    if (c === undefined) return undefined;
    cursor.pos++;
    if (c === '"') return out;
    if (c === '\\') {
      const next = cursor.peek();
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
      cursor.pos++;
      continue;
    }
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) return undefined;
    out += c;
  }
}

/** The number a bare item holds, when it is a non-negative number. */
export function sfCount(item: BareItem | undefined): number | undefined {
  return typeof item === 'number' && item >= 0 ? item : undefined;
}

/** A policy name: a String (draft-08 on) or a Token; other items have no name. */
export function sfName(item: BareItem): string | undefined {
  if (typeof item === 'string') return item;
  if (typeof item === 'object' && 'token' in item) return item.token;
  return undefined;
}
