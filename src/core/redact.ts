/**
 * Redaction: how sluice shows text or a value that may hold a credential. Every sluice
 * error renders through it (core/errors.ts), and so do sluiceFetch's events and the
 * harvest's files. It is here in core, below everything that shows a value, so that no
 * room needs a second copy of the rules.
 */
export const REDACTED = '[redacted]';

/** The last word of a name that makes its value a credential: `X-Api-Key`, `client_secret`, `accessToken`. */
const SECRET_WORDS = new Set([
  'authorization',
  'cookie',
  'key',
  'apikey',
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'signature',
  'sig',
  'auth',
  'credential',
  'credentials',
]);
/** A last word that ends in one of these is a credential even when written as one word: `accesstoken`, `clientsecret`. */
const SECRET_SUFFIX = /(token|secret|password|apikey)$/;
/** Names that are a credential only as the whole name: OAuth's `?code=`. */
const SECRET_WHOLE = new Set(['code']);
/**
 * The word before `token` or `key` in names that say where a listing resumes (`page_token`,
 * `nextPageToken`, `startKey`, `LastEvaluatedKey`): a cursor, not a credential. A harvest
 * saves next-page URLs redacted, so a cursor counted as a secret would be lost on resume.
 */
const CURSOR_WORDS = new Set(['page', 'next', 'nextpage', 'start', 'last', 'evaluated', 'continuation', 'pagination', 'cursor', 'sync', 'resume']);
const CURSOR_JOINED = /^(next|page|nextpage|continuation|pagination|sync|start|last)(token|key)$/;

/** A name as lower-case words: `accessToken`, `ACCESS_TOKEN`, `access-token` and `APIKey` split alike. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/**
 * isSecretName: true when a header, query parameter or field of this name carries a
 * credential: Authorization, Cookie, and names whose last word is key, token, secret,
 * password, signature, sig, auth or credential, in any case style (`X-Api-Key`,
 * `access_token`, `accessToken`, `clientSecret`, `apikey`), plus `code` (OAuth). Cursor
 * names (`page_token`, `nextPageToken`, `startKey`) are not credentials.
 */
export function isSecretName(name: string): boolean {
  const words = wordsOf(name);
  const last = words.at(-1);
  if (last === undefined) return false;
  if (words.length === 1 && SECRET_WHOLE.has(last)) return true;
  if ((last === 'token' || last === 'key') && CURSOR_WORDS.has(words.at(-2) ?? '')) return false;
  if (CURSOR_JOINED.test(last)) return false;
  return SECRET_WORDS.has(last) || SECRET_SUFFIX.test(last);
}

/** isSecretHeader: true for headers whose values never appear in sluice's errors or events (see isSecretName). */
export function isSecretHeader(name: string): boolean {
  return isSecretName(name);
}

/** Redacts the secret-named parameters of a query (or of a fragment, where OAuth puts tokens); true when any was. */
function redactParams(params: URLSearchParams): boolean {
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (isSecretName(name)) {
      params.set(name, REDACTED);
      changed = true;
    }
  }
  return changed;
}

/**
 * redactUrl: the URL with its user and password, and the values of credential-looking
 * query (and fragment) parameters, replaced by `[redacted]`. Unparseable input is
 * redacted whole, since it cannot be shown to be safe.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return REDACTED;
  }
  if (parsed.username !== '') parsed.username = REDACTED;
  if (parsed.password !== '') parsed.password = REDACTED;
  redactParams(parsed.searchParams);
  if (parsed.hash.includes('=')) {
    const fragment = new URLSearchParams(parsed.hash.slice(1));
    if (redactParams(fragment)) parsed.hash = fragment.toString();
  }
  return parsed.href.replaceAll(encodeURIComponent(REDACTED), REDACTED);
}

/** redactHeaders: a plain record of the headers with every secret value replaced by `[redacted]`, for logs. */
export function redactHeaders(headers: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = isSecretHeader(name) ? REDACTED : value;
  });
  return out;
}

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/**
 * redactUrlInText: a URL found in free text, as redactText shows it. Punctuation that ends
 * the sentence rather than the URL (`(see https://x/a).`) stays outside it, and a URL with
 * nothing to redact is left as written rather than normalised (`http://h:1` keeps no `/`).
 */
export function redactUrlInText(found: string): string {
  const [, url = found, tail = ''] = /^(.*?)([),.;:!?\]]*)$/s.exec(found) ?? [];
  const redacted = redactUrl(url);
  let normal: string | undefined;
  try {
    normal = new URL(url).href;
  } catch {
    normal = undefined;
  }
  return (redacted === normal ? url : redacted) + tail;
}
/** `Bearer <token>` and `Basic <base64>`, wherever they appear: the value of an Authorization header. */
const AUTH_SCHEME = /\b(Bearer)\s+[\w.~+/-]+=*|\b(Basic)\s+[A-Za-z0-9+/]{8,}=*/gi;
/** Tokens whose shape gives them away whatever they are called: JWTs, and OpenAI/Stripe, GitHub, Slack and AWS keys. */
const KNOWN_TOKEN = /\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*|\b(sk|rk)[-_](live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{16,}|\b(ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{16,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b/g;
/** `name=value` outside a URL (a query or form fragment, a connection string). */
const ASSIGNMENT = /(?<![\w.-])([A-Za-z_][\w.-]*)(\s*=\s*)([^\s&;,"'<>)]+)/g;
/** `"name": "value"`: a JSON member. */
const JSON_MEMBER = /"([^"\\]{1,100})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;
/** `Authorization: …`, `X-Api-Key: …`: a header line. Only hyphenated names and Authorization/Cookie, so prose such as `key: must be …` stays. */
const HEADER_LINE = /(?<![\w-])((?:[A-Za-z0-9]+-)+[A-Za-z0-9]+|authorization|cookie)(\s*:\s*)([^\r\n"')]+)/gi;
/** Whether HEADER_LINE can match at all: a hyphenated word or one of the two names, then a colon. */
const HEADER_HINT = /-\w+\s*:|authorization\s*:|cookie\s*:/i;

/**
 * redactText: free text (an error message, a stack, a reason) with the credentials it
 * may quote replaced by `[redacted]`: URLs as redactUrl shows them, `Bearer`/`Basic`
 * credentials, well-known token shapes (JWT, `sk-…`, `ghp_…`, `xoxb-…`, `AKIA…`), and the
 * values of secret-named `name=value`, `"name": "value"` and header lines. A credential
 * with none of these marks (a bare random string) cannot be told from other text.
 */
export function redactText(text: string): string {
  // The rules that scan every word run only when their mark is in the text (://, =, a
  // quote, a header name and colon): every sluice error's message passes through here, and
  // most have none. The two anchored on literal words are cheap enough to run always.
  let out = text;
  if (out.includes('://')) out = out.replace(URL_IN_TEXT, redactUrlInText);
  out = out.replace(AUTH_SCHEME, (_match, bearer: string | undefined, basic: string | undefined) => `${bearer ?? basic} ${REDACTED}`).replace(KNOWN_TOKEN, REDACTED);
  if (out.includes('=')) out = out.replace(ASSIGNMENT, (match, name: string, sep: string) => (isSecretName(name) ? `${name}${sep}${REDACTED}` : match));
  if (out.includes('"')) out = out.replace(JSON_MEMBER, (match, name: string, sep: string) => (isSecretName(name) ? `"${name}"${sep}"${REDACTED}"` : match));
  if (HEADER_HINT.test(out)) out = out.replace(HEADER_LINE, (match, name: string, sep: string) => (isSecretName(name) ? `${name}${sep}${REDACTED}` : match));
  return out;
}

/** The longest string showValue shows; a longer one is cut, as a value in a message needs no more. */
const MAX_STRING = 120;
/** How many keys of an object, or elements of an array, showValue lists. */
const MAX_ITEMS = 8;

/**
 * showValue: a value as an error message may show it — short, and safe to log. Numbers,
 * booleans, null, undefined and bigints as written; strings quoted, with redactText
 * applied and cut to 120 characters; arrays by their first elements; plain objects by
 * their keys only (`{rate, burst}`); any other object by its type alone (`RedisStore {…}`,
 * `AbortSignal {…}`, `Headers {…}`), since its contents may be a client, its options or a
 * header; functions and symbols by their kind. Never throws.
 */
export function showValue(value: unknown, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(safeValue(value));
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    if (Array.isArray(value)) {
      if (depth > 0) return `[…${value.length}]`;
      const shown = value.slice(0, MAX_ITEMS).map((item: unknown) => showValue(item, depth + 1));
      return `[${shown.join(', ')}${value.length > MAX_ITEMS ? ', …' : ''}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `${typeName(value)} {…}`;
    if (depth > 0) return '{…}';
    const keys = Object.keys(value);
    const shown = keys.slice(0, MAX_ITEMS).map((key) => cut(redactText(key), 40));
    return `{${shown.join(', ')}${keys.length > MAX_ITEMS ? ', …' : ''}}`;
  } catch {
    return 'object';
  }
}

/**
 * safeValue: what an error may keep of a value it names: a number, boolean, bigint, null
 * or undefined as given; a string redacted and cut (showValue without the quotes);
 * anything else as its showValue rendering, a string, so no reference to it is kept.
 */
export function safeValue(value: unknown): unknown {
  if (typeof value === 'string') return cut(redactText(value), MAX_STRING);
  if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol') return value === null ? null : showValue(value);
  return value;
}

/** The name of an object's class, or `object` when it has none worth showing. */
function typeName(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,40}$/.test(name) ? name : 'object';
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
