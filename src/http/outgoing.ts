import { redactUrl } from './redact.js';

/**
 * Outgoing: one request as sluiceFetch sends it. The wrapped fetch is handed, on every
 * attempt, a URL string and an init object — never a Request built here: a fetch of another
 * implementation (undici's own package, a test double, a proxy agent's) cannot read the
 * global Request class's private state, and undici's fails every call with "Failed to parse
 * URL from [object Request]". The caller's init reaches the fetch as given, its
 * non-standard fields included (undici's `dispatcher`); a caller's Request, of any
 * implementation, is unpacked into URL and init once, its body read once.
 *
 * A body that can be read only once (a stream, an iterator) is read into bytes here, once,
 * so that every attempt sends the same bytes, as a retry must.
 */
export interface Outgoing {
  /** The absolute http(s) URL. */
  readonly url: string;
  /** What every attempt sends besides the URL, without a signal: each attempt adds its own. */
  readonly init: RequestInit;
  /** The same request as a global Request, never sent: for the parts that read it (the extra quota reads its body). */
  readonly request: Request;
  /** The caller's signal, from its init or its Request. */
  readonly signal: AbortSignal | undefined;
}

/** Reads `input` and `init` as fetch would, once; refuses what must not be sent (TypeError, nothing sent). */
export async function outgoingOf(input: string | URL | Request, init: RequestInit | undefined): Promise<Outgoing> {
  const given = isRequestLike(input) ? input : undefined;
  const url = checkedUrl(given ? given.url : String(input));
  const fields: RequestInit = given ? { ...(await unpack(given, init?.body != null)), ...definedFields(init) } : { ...init };
  const signal = fields.signal ?? undefined;
  delete fields.signal;
  if (fields.body != null && !isReusable(fields.body)) fields.body = new Uint8Array(await requestOf(url, fields).arrayBuffer());
  return { url, init: fields, request: requestOf(url, fields), signal };
}

/** A Request of any implementation: what it must have to be read as one. */
function isRequestLike(input: unknown): input is Request {
  if (typeof input !== 'object' || input === null || input instanceof URL) return false;
  const r = input as { url?: unknown; method?: unknown; headers?: unknown; arrayBuffer?: unknown };
  return typeof r.url === 'string' && typeof r.method === 'string' && typeof r.headers === 'object' && typeof r.arrayBuffer === 'function';
}

function checkedUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`sluiceFetch: not an absolute URL: ${redactUrl(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`sluiceFetch: only http and https URLs are fetched (got ${url.protocol})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`sluiceFetch: credentials in the URL are not sent; use an Authorization header (${redactUrl(url)})`);
  }
  return url.href;
}

/** A Request's defaults: a field left at its default is not written into the init. */
const REQUEST_DEFAULTS = { cache: 'default', credentials: 'same-origin', integrity: '', keepalive: false, mode: 'cors', referrer: 'about:client', referrerPolicy: '' } as const;

/** A Request's fields as an init; its body read as bytes, unless the caller's init replaces it. */
async function unpack(request: Request, bodyReplaced: boolean): Promise<RequestInit> {
  const fields: Record<string, unknown> = { method: request.method, headers: Object.fromEntries(request.headers), redirect: request.redirect, signal: request.signal };
  for (const [name, byDefault] of Object.entries(REQUEST_DEFAULTS)) {
    const value = (request as unknown as Record<string, unknown>)[name];
    if (value !== undefined && value !== byDefault) fields[name] = value;
  }
  if (!bodyReplaced && request.body !== null) fields.body = new Uint8Array(await request.arrayBuffer());
  return fields as RequestInit;
}

/** The init's fields that are set: an `undefined` member is absent, as fetch reads it. */
function definedFields(init: RequestInit | undefined): RequestInit {
  const out: Record<string, unknown> = {};
  if (init) for (const [name, value] of Object.entries(init)) if (value !== undefined) out[name] = value;
  return out as RequestInit;
}

/** A body fetch reads afresh on every call; the rest (streams, iterators) can be read once. */
function isReusable(body: unknown): boolean {
  return typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData;
}

function requestOf(url: string, init: RequestInit): Request {
  try {
    return new Request(url, init);
  } catch (error) {
    // fetch's own message quotes the invalid header value, and that value is often a token.
    if (error instanceof TypeError && /header value/.test(error.message)) throw new TypeError('sluiceFetch: a header value is invalid (a line break or a NUL in it); the value is not shown');
    throw error;
  }
}
