import { mixSeed, seededRandom } from './random.js';

/** One record of the mock's data set; every field is derived from `(seed, id)` alone. */
export interface MockRecord {
  id: number;
  name: string;
  email: string;
  created_at: string;
  country: string;
  plan: 'free' | 'pro' | 'enterprise';
  score: number;
  active: boolean;
}

const FIRST = ['Ada', 'Boris', 'Chen', 'Dana', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ivan', 'Jun', 'Kira', 'Lena', 'Mateo', 'Nadia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wei', 'Yara', 'Zoe'];
const LAST = ['Abe', 'Novak', 'Li', 'Okafor', 'Petrova', 'Silva', 'Kowalski', 'Haddad', 'Ivanov', 'Tanaka', 'Moreau', 'Jensen', 'Garcia', 'Rossi', 'Kim', 'Sato', 'Nguyen', 'Weber', 'Costa', 'Singh'];
const COUNTRIES = ['DE', 'US', 'CN', 'RU', 'BR', 'IN', 'JP', 'NG', 'FR', 'SE', 'PL', 'KR'];
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'enterprise'] as const;
/** 2020-01-01T00:00:00Z: records are created from here on, in id order. */
const EPOCH = Date.UTC(2020, 0, 1);

/**
 * recordAt builds record `id` (1-based) of the data set for `seed`. Nothing is stored, so a
 * mock of ten million records costs no memory, and a record reads the same in every run,
 * page size and pagination style — which is what lets tests compare harvests byte for byte.
 */
export function recordAt(seed: number, id: number): MockRecord {
  const random = seededRandom(mixSeed(seed, id));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const first = pick(FIRST);
  const last = pick(LAST);
  return {
    id,
    name: `${first} ${last}`,
    email: `${first}.${last}.${id}@example.com`.toLowerCase(),
    // About six minutes apart with jitter, so created_at rises with id like a real table.
    created_at: new Date(EPOCH + id * 360_000 + Math.floor(random() * 300_000)).toISOString(),
    country: pick(COUNTRIES),
    plan: pick(PLANS),
    score: Math.round(random() * 10_000) / 100,
    active: random() < 0.8,
  };
}

/** Records `from` to `to - 1` (0-based positions: position p holds id p + 1). */
export function recordsBetween(seed: number, from: number, to: number): MockRecord[] {
  const out: MockRecord[] = [];
  for (let p = from; p < to; p++) out.push(recordAt(seed, p + 1));
  return out;
}
