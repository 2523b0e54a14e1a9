/** How a call ended: with a value, or with an error. Predicates such as `retryOn` receive one. */
export type Outcome<T = unknown> = { ok: true; value: T } | { ok: false; error: unknown };

/** The parts of a fetch `Response` (or a Node/axios response) sluice reads. */
export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null } | Record<string, string | string[] | number | undefined>;
}

/** True for an object shaped like an HTTP response: a numeric `status` and a `headers` object. */
export function isResponseLike(value: unknown): value is ResponseLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { status?: unknown }).status === 'number' &&
    typeof (value as { headers?: unknown }).headers === 'object' &&
    (value as { headers?: unknown }).headers !== null
  );
}

/** Reads one header from a fetch `Headers` or a plain record (any case); undefined when absent. */
export function headerOf(response: ResponseLike, name: string): string | undefined {
  const headers = response.headers;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | number | undefined>;
  let value = record[name] ?? record[name.toLowerCase()];
  if (value === undefined) {
    const lower = name.toLowerCase();
    for (const key of Object.keys(record)) if (key.toLowerCase() === lower) value = record[key];
  }
  if (Array.isArray(value)) value = value[0];
  return value === undefined ? undefined : String(value);
}

/** The HTTP status an error carries (`status`, `statusCode` or `response.status`), if any. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { status?: unknown; statusCode?: unknown; response?: unknown };
  if (typeof e.status === 'number') return e.status;
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (isResponseLike(e.response)) return e.response.status;
  return undefined;
}
