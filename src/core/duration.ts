import { ConfigError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^\s*(\d+(?:\.\d+)?)?\s*(ms|sec|s|min|m|h|d)\s*$/i;
const RATE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(.+)$/;

/** A duration: milliseconds as a number, or a string such as `'250ms'`, `'1.5s'`, `'1m'`, `'1h'`, `'1d'`. */
export type Duration = number | string;

/** A rate: `'100/1m'`, `'10/s'`, `'5000/h'`, `'10000/1d'`, or `{ limit, interval }`. */
export type RateInput = string | { limit: number; interval: Duration };

/** A parsed rate: at most `limit` units per `intervalMs`. */
export interface Rate {
  limit: number;
  intervalMs: number;
}

/**
 * parseDuration turns a Duration into milliseconds. A bare unit means one of it
 * (`'s'` is 1000). Throws ConfigError naming `field` for anything else, including
 * negative, NaN and infinite numbers.
 */
export function parseDuration(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(field, value, 'must be a finite number of milliseconds >= 0');
    return value;
  }
  if (typeof value !== 'string') throw new ConfigError(field, value, "must be milliseconds or a string like '250ms', '1s', '1m'");
  const match = DURATION.exec(value);
  if (!match) throw new ConfigError(field, value, "is not a duration; use e.g. '250ms', '1s', '1m', '1h', '1d'");
  const amount = match[1] === undefined ? 1 : Number(match[1]);
  return amount * UNIT_MS[match[2]!.toLowerCase()]!;
}

/**
 * parseRate turns a RateInput into `{ limit, intervalMs }`. The limit must be a positive
 * finite number and the interval longer than zero. Throws ConfigError naming `field`.
 */
export function parseRate(value: RateInput, field: string): Rate {
  let limit: number;
  let intervalMs: number;
  if (typeof value === 'string') {
    const match = RATE.exec(value);
    if (!match) throw new ConfigError(field, value, "is not a rate; use e.g. '100/1m', '10/s', '5000/h'");
    limit = Number(match[1]);
    try {
      intervalMs = parseDuration(match[2]!, field);
    } catch {
      throw new ConfigError(field, value, `has no valid interval after '/'; use e.g. '100/1m', '10/s', '5000/h'`);
    }
  } else if (value !== null && typeof value === 'object') {
    limit = value.limit;
    intervalMs = parseDuration(value.interval, `${field}.interval`);
  } else {
    throw new ConfigError(field, value, "must be a rate string like '100/1m' or { limit, interval }");
  }
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
    throw new ConfigError(field, value, 'limit must be a positive finite number');
  }
  if (!(intervalMs > 0)) throw new ConfigError(field, value, 'interval must be longer than 0');
  return { limit, intervalMs };
}
