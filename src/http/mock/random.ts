/** A source of uniform numbers in [0, 1); the mock's randomness is always seeded. */
export type Random = () => number;

/**
 * seededRandom: mulberry32, a small fast PRNG with a 32-bit state. Not for cryptography;
 * chosen because the same seed gives the same latencies and faults on every run and machine.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes integers into one 32-bit seed, so record i of seed s is a pure function of (s, i). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(part / 4294967296), 0x01000193);
  }
  return h >>> 0;
}
