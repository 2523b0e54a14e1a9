import { ConfigError } from '../../core/errors.js';
import { pathGlob } from '../../core/path-glob.js';
import { Fields } from './fields.js';
import type { BudgetConfig } from './source-config.js';

const PATTERN = /^(?:([A-Z]+|\*)\s+)?(\/\S*)$/;

/**
 * parseBudgets: `client.budgets`, each `{ name, rate, match, weight, weights }` — a quota
 * the requests `match` selects (default: all) share, each taking `weight` (default 1), or
 * the weight of the first pattern of `weights` it matches: one server quota where a search
 * costs 3 is `{ "rate": "5000/1h", "weights": { "/search/**": 3 } }`; a search endpoint's
 * own quota besides is `{ "name": "search", "rate": "30/1m", "match": "/search/**" }`.
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
    const weights: [string, number][] = [];
    const byPattern = f.object('weights');
    for (const pattern of byPattern?.keys() ?? []) {
      if (!PATTERN.test(pattern)) throw new ConfigError(byPattern!.at(pattern), pattern, 'must be a path pattern like "/search/**" or "GET /repos/*/issues"');
      weights.push([pattern, byPattern!.whole(pattern, 1) ?? 1]);
    }
    f.done();
    return { name, rate, match, weight, weights };
  });
}

/** The weight a request takes from a budget it matches. */
export function budgetWeight(budget: BudgetConfig, method: string, pathname: string): number {
  return budget.weights.find(([pattern]) => budgetMatches(pattern, method, pathname))?.[1] ?? budget.weight;
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
