import { ConfigError } from '../core/errors.js';

const UNIT: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** parseSize: `32mb`, `512kb`, `1gb` or a number of bytes (at least 1); throws ConfigError naming `field`. */
export function parseSize(value: string | number, field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i.exec(String(value).trim());
  const n = match ? Math.floor(Number(match[1]) * UNIT[(match[2] ?? 'b').toLowerCase()]!) : Number.NaN;
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new ConfigError(field, value, 'must be a size like 32mb, 512kb or 1000000');
  return n;
}
