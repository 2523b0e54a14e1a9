/**
 * The Redis Cluster hash slot of a key, as the server computes it: CRC16 (XMODEM) of the
 * key's hash tag — the part between the first `{` and the next `}`, if that part is not
 * empty — else of the whole key, modulo 16384. Ours rather than a dependency: the core has
 * none, and the computation is a dozen lines.
 */

const SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot of `key` (its UTF-8 bytes, as ioredis sends a string). */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(new TextEncoder().encode(key)) % SLOTS;
}
