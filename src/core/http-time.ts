/**
 * The time formats servers use for "when": delta seconds, HTTP-dates, RFC 3339, epoch
 * seconds or milliseconds, and Go-style durations (`6m0s`, `20ms`). Each parser returns
 * milliseconds from `nowEpochMs`, possibly negative or huge; callers clamp (clampWait).
 * Here in core because both the retry policy (`Retry-After`) and the HTTP feedback dialects
 * read these formats, and neither may import the other's room.
 */

const PLAIN_NUMBER = /^\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * A non-negative decimal such as `"100"` or `"4.5"`; `-1`, `NaN`, `1e3`, `12abc` are unknown.
 * A run of digits too long for a double is Infinity: as a wait it means "the cap".
 */
export function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = PLAIN_NUMBER.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** Above this a bare number is epoch milliseconds: 1e12 ms is September 2001. */
const EPOCH_MS_FLOOR = 1e12;
/** Above this a bare number is epoch seconds: 1e9 s is September 2001; as a delta it would be 31 years. */
const EPOCH_S_FLOOR = 1e9;

const GO_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|μs|ns)/gy;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, μs: 1e-3, ns: 1e-6 };

/**
 * A Go `time.Duration` string as OpenAI sends it (`"6m0s"`, `"1h2m3.5s"`, `"20ms"`), in ms.
 * A bare number is taken as seconds (some OpenAI-compatible servers send `"12"`).
 */
export function parseGoDuration(value: string): number | undefined {
  const text = value.trim();
  const seconds = parseCount(text);
  if (seconds !== undefined) return seconds * 1000;
  if (text === '') return undefined;
  GO_PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = GO_PART.exec(text); match; match = GO_PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    end = GO_PART.lastIndex;
  }
  return end === text.length ? total : undefined;
}

/** An absolute date (HTTP-date or RFC 3339), as ms from now; undefined when it is not a date. */
export function parseDateFromNow(value: string, nowEpochMs: number): number | undefined {
  // Date.parse takes odd strings ("-5000" as a year, "May 1" as 2001): only an RFC 3339 date
  // or a day-name date (HTTP-date, JavaScript's Date#toString) with a four-digit year counts.
  if (!/^\s*(?:\d{4}-\d{2}-\d{2}|[A-Za-z]{3}\b.*\b\d{4}\b)/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at - nowEpochMs;
}

/** `Retry-After`: delta seconds (decimals tolerated) or an HTTP-date. */
export function parseRetryAfterMs(value: string, nowEpochMs: number): number | undefined {
  const seconds = parseCount(value);
  if (seconds !== undefined) return seconds * 1000;
  return parseDateFromNow(value, nowEpochMs);
}

/**
 * A reset instant whose form the server did not declare (`X-RateLimit-Reset` and friends):
 * a bare number is epoch ms above 1e12, epoch seconds above 1e9, else delta seconds — no
 * real delta is 31 years, and no real epoch is before 2001. A number with a unit is a Go
 * duration; anything else may be a date.
 */
export function parseResetMs(value: string, nowEpochMs: number): number | undefined {
  const n = parseCount(value);
  if (n !== undefined) {
    if (n >= EPOCH_MS_FLOOR) return n - nowEpochMs;
    if (n >= EPOCH_S_FLOOR) return n * 1000 - nowEpochMs;
    return n * 1000;
  }
  return parseGoDuration(value) ?? parseDateFromNow(value, nowEpochMs);
}
