import { ConfigError } from '../../core/errors.js';
import { pathGlob } from '../../core/path-glob.js';
import { Fields } from './fields.js';
import type { BudgetConfig } from './source-config.js';

const PATTERN = /^(?:([A-Z]+|\*)\s+)?(\/\S*)$/;

/**
 * parseBudgets: `client.budgets`, each `{ name, rate, match, weight }` — e.g. a search
 * endpoint with its own 30/1m that also counts 2 against the client's rate is
 * `{ "name": "search", "rate": "30/1m", "match": "GET /search/**" }` plus a weight.
 */
export function parseBudgets(value: unknown, path: string): BudgetConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(path, value, 'must be a list of budgets like { "rate": "30/1m", "match": "GET /search/**" }');
  const names = new Set<string>();
  return value.map((item, i) => {
    const f = Fields.of(item, `${path}[${i}]`);
    const name = f.string('name') ?? `budget-${i + 1}`;
    if (names.has(name)) throw new ConfigError(f.at('name'), name, 'names another budget too: each budget needs its own name');
    names.add(name);
    const rate = f.rates('rate');
    if (rate === undefined) throw new ConfigError(f.at('rate'), undefined, 'is required, e.g. "30/1m"');
    const match = f.strings('match') ?? ['* /**'];
    match.forEach((pattern, j) => {
      if (!PATTERN.test(pattern)) throw new ConfigError(Array.isArray(f.raw('match')) ? `${f.at('match')}[${j}]` : f.at('match'), pattern, 'must be a path pattern like "/search/**" or "GET /repos/*/issues"');
    });
    const weight = f.whole('weight', 1) ?? 1;
    f.done();
    return { name, rate, match, weight };
  });
}

/**
 * budgetMatches: whether a request (`method`, URL `pathname`) is counted by a budget
 * pattern: `*` matches one path segment, `**` any number; the method, when given, exactly.
 */
export function budgetMatches(pattern: string, method: string, pathname: string): boolean {
  const m = PATTERN.exec(pattern);
  if (!m) return false;
  if (m[1] !== undefined && m[1] !== '*' && m[1] !== method.toUpperCase()) return false;
  return pathGlob(m[2]!).test(pathname);
}
