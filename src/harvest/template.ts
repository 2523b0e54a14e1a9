import { ConfigError } from '../core/errors.js';

/** The placeholders a URL template may hold. */
export type Placeholder = 'offset' | 'limit' | 'page' | 'cursor';

const KNOWN: readonly Placeholder[] = ['offset', 'limit', 'page', 'cursor'];

/**
 * UrlTemplate: `https://api.example.com/items?offset={offset}&limit={limit}` compiled once.
 * Values are URL-encoded when filled in, so a cursor like `a+b/c==` survives the trip.
 */
export class UrlTemplate {
  readonly placeholders: ReadonlySet<Placeholder>;
  private readonly parts: readonly (string | Placeholder)[];

  private constructor(
    readonly text: string,
    parts: (string | Placeholder)[],
  ) {
    this.parts = parts;
    this.placeholders = new Set(parts.filter((p, i) => i % 2 === 1) as Placeholder[]);
  }

  /**
   * UrlTemplate.parse: checks the template before any request. Throws ConfigError naming
   * `field` for an unknown or unclosed placeholder, or a URL that is not absolute http(s).
   * The message shows the template with its credentials redacted (by the caller's `shown`).
   */
  static parse(text: string, field: string, shown: string): UrlTemplate {
    const parts: (string | Placeholder)[] = [];
    const re = /\{([^{}]*)\}/g;
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const name = m[1]!;
      if (!KNOWN.includes(name as Placeholder)) {
        throw new ConfigError(field, shown, `has an unknown placeholder {${name}}; known: ${KNOWN.map((k) => `{${k}}`).join(' ')}`);
      }
      parts.push(text.slice(last, m.index), name as Placeholder);
      last = m.index + m[0].length;
    }
    const tail = text.slice(last);
    if (/[{}]/.test(tail) || parts.some((p, i) => i % 2 === 0 && /[{}]/.test(p))) throw new ConfigError(field, shown, 'has an unclosed { or a stray }');
    parts.push(tail);
    const template = new UrlTemplate(text, parts);
    let probe: URL;
    try {
      probe = new URL(template.fill({ offset: 0, limit: 1, page: 1, cursor: 'x' }));
    } catch {
      throw new ConfigError(field, shown, 'must be an absolute URL, e.g. https://api.example.com/items?page={page}');
    }
    if (probe.protocol !== 'http:' && probe.protocol !== 'https:') throw new ConfigError(field, shown, `must be an http or https URL (got ${probe.protocol})`);
    return template;
  }

  /** The URL with each placeholder replaced; a missing value becomes the empty string. */
  fill(values: Partial<Record<Placeholder, string | number>>): string {
    let out = '';
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      if (i % 2 === 0) out += part;
      else out += encodeURIComponent(String(values[part as Placeholder] ?? ''));
    }
    return out;
  }
}
