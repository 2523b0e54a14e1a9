import { parseDuration, parseRate } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';

/**
 * Fields: reads one object of a config file at its path (`resources.issues.pagination`),
 * so every error names where in the file it is. Unknown keys are refused: a typo
 * (`primary_key` for `primaryKey`) would otherwise be silently ignored.
 */
export class Fields {
  private readonly seen = new Set<string>();

  private constructor(
    readonly path: string,
    private readonly value: Record<string, unknown>,
  ) {}

  /** Fields.of: `value` as an object at `path`; throws ConfigError naming the path when it is not one. */
  static of(value: unknown, path: string): Fields {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(path, value, 'must be an object');
    return new Fields(path, value as Record<string, unknown>);
  }

  /** The path of `key` under this object, as errors show it. */
  at(key: string): string {
    const plain = /^[A-Za-z_$][\w$-]*$/.test(key);
    if (this.path === '') return plain ? key : `['${key}']`;
    return plain ? `${this.path}.${key}` : `${this.path}['${key}']`;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** The value as written (marking the key as known). */
  raw(key: string): unknown {
    this.seen.add(key);
    return Object.prototype.hasOwnProperty.call(this.value, key) ? this.value[key] : undefined;
  }

  keys(): string[] {
    return Object.keys(this.value);
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new ConfigError(this.at(key), v, 'must be a non-empty string');
    return v;
  }

  requiredString(key: string, example: string): string {
    const v = this.string(key);
    if (v === undefined) throw new ConfigError(this.at(key), undefined, `is required, e.g. ${example}`);
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !choices.includes(v as T)) throw new ConfigError(this.at(key), v, `must be one of ${choices.join(', ')}`);
    return v as T;
  }

  whole(key: string, min: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ConfigError(this.at(key), v, `must be a whole number >= ${min}`);
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ConfigError(this.at(key), v, 'must be true or false');
    return v;
  }

  /** A duration in ms: a number of ms or `'30s'`, `'10m'`; longer than 0 unless `zero`. */
  duration(key: string, zero = false): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    let ms: number;
    try {
      ms = parseDuration(v as string | number, this.at(key));
    } catch {
      throw new ConfigError(this.at(key), v, "must be a duration like '30s', '500ms' or '10m'");
    }
    if (!zero && !(ms > 0)) throw new ConfigError(this.at(key), v, 'must be longer than 0');
    return ms;
  }

  /** One rate or a list of rates (`'100/1m'`, `['5000/1h', '100/1m']`), each checked. */
  rates(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? (v as unknown[]) : [v];
    if (list.length === 0) throw new ConfigError(this.at(key), v, "must hold at least one rate like '100/1m'");
    return list.map((item, i) => {
      const at = Array.isArray(v) ? `${this.at(key)}[${i}]` : this.at(key);
      if (typeof item !== 'string') throw new ConfigError(at, item, "must be a rate like '100/1m', '10/s' or '5000/1h'");
      parseRate(item, at);
      return item;
    });
  }

  /** A string or a list of strings, as a list. */
  strings(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? (v as unknown[]) : [v];
    list.forEach((item, i) => {
      if (typeof item !== 'string' || item === '') throw new ConfigError(Array.isArray(v) ? `${this.at(key)}[${i}]` : this.at(key), item, 'must be a non-empty string');
    });
    return list as string[];
  }

  /** The object at `key` as Fields, or undefined when absent. */
  object(key: string): Fields | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : Fields.of(v, this.at(key));
  }

  /** A map of string values (headers, params): each value a string, number or boolean, kept as text. */
  textMap(key: string): Record<string, string> | undefined {
    const fields = this.object(key);
    if (fields === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const name of fields.keys()) {
      const v = fields.raw(name);
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ConfigError(fields.at(name), v, 'must be a string, number or boolean');
      out[name] = String(v);
    }
    return out;
  }

  /** Throws ConfigError for the first key no reader asked for. */
  done(): void {
    for (const key of Object.keys(this.value)) {
      if (!this.seen.has(key)) throw new ConfigError(this.at(key), undefined, 'is not a known field here (check its spelling)');
    }
  }
}
