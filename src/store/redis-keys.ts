import { ConfigError } from '../core/errors.js';

/**
 * Escapes a user-supplied key part for use inside a Redis key. `%`, the hash-tag braces,
 * the `:` separator, whitespace, control characters and surrogate code units are written
 * as `%XX` / `%uXXXX`, so the encoding is injective (two different keys never meet), a
 * part can never close sluice's `{…}` hash tag or escape the prefix, and lone surrogates
 * (which UTF-8 would turn into the same U+FFFD) stay distinct.
 */
export function encodeKeyPart(part: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
  return part.replace(/[%{}:\s\u0000-\u001f\u007f\ud800-\udfff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `%${code.toString(16).padStart(2, '0')}` : `%u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Default key prefix of the Redis stores. */
export const DEFAULT_PREFIX = 'sluice:';

/**
 * Checks a key prefix. Braces are refused: Redis Cluster hashes the first `{…}` of a key,
 * and sluice's own tag must be that one so all keys of one limiter share a slot.
 */
export function checkPrefix(prefix: unknown, field = 'prefix'): string {
  if (typeof prefix !== 'string') throw new ConfigError(field, prefix, 'must be a string');
  if (/[{}]/.test(prefix)) throw new ConfigError(field, prefix, 'must not contain { or } (sluice adds its own hash tag)');
  return prefix;
}

/** `prefix{encoded key}`: the base of every key of one limiter; the tag keeps them in one Cluster slot. */
export function taggedKey(prefix: string, key: string): string {
  return `${prefix}{${encodeKeyPart(key)}}`;
}
