import { ConfigError } from '../../core/errors.js';
import { parseJsonPath } from '../json-path.js';
import { parseSize } from '../sizes.js';
import { EnvValues } from './env-values.js';
import { Fields } from './fields.js';
import { parseAuth } from './parse-auth.js';
import { parseBudgets } from './parse-budgets.js';
import { parsePagination } from './parse-pagination.js';
import { parentRefs } from './placeholders.js';
import type { ClientConfig, IncrementalConfig, ResourceConfig, SourceConfig } from './source-config.js';

/**
 * parseSourceConfig: a `sluice harvest --config` file, parsed JSON, checked whole before
 * any request. Throws ConfigError naming the path in the file of the first thing wrong —
 * `resources.comments.pagination.cursorPath: is required for cursor pagination…` — and
 * never showing a secret. `env` fills `{env.NAME}`.
 */
export function parseSourceConfig(json: unknown, env: Record<string, string | undefined>): SourceConfig {
  const values = new EnvValues(env);
  const top = Fields.of(json, '');
  top.raw('$schema');
  const clientFields = top.object('client');
  if (clientFields === undefined) throw new ConfigError('client', undefined, 'is required: { "baseUrl": "https://api.example.com" }');
  const client = parseClient(clientFields, values);
  const defaults = top.raw('defaults');
  if (defaults !== undefined) checkDefaults(Fields.of(defaults, 'defaults'));
  const resourcesFields = top.object('resources');
  if (resourcesFields === undefined || resourcesFields.keys().length === 0) throw new ConfigError('resources', undefined, 'is required: at least one named resource, e.g. { "issues": { "path": "/issues" } }');
  const resources = resourcesFields.keys().map((name) => parseResource(name, resourcesFields.raw(name), resourcesFields.at(name), defaults, values));
  top.done();
  return { client, resources: ordered(resources), secrets: values.secrets };
}

function parseClient(f: Fields, env: EnvValues): ClientConfig {
  const baseUrl = env.fill(f.requiredString('baseUrl', '"https://api.example.com"'), f.at('baseUrl'));
  if (!/^https?:\/\//i.test(baseUrl) || !URL.canParse(baseUrl)) throw new ConfigError(f.at('baseUrl'), baseUrl, 'must be an absolute http or https URL');
  const url = new URL(baseUrl);
  if (url.username !== '' || url.password !== '') throw new ConfigError(f.at('baseUrl'), '[redacted]', 'must not hold credentials: use "auth": { "type": "basic", … }');
  const headers: Record<string, string> = {};
  const given = f.textMap('headers') ?? {};
  for (const [name, value] of Object.entries(given)) {
    const at = `${f.at('headers')}.${name}`;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ConfigError(at, '[redacted]', 'is not a valid header name');
    headers[name.toLowerCase()] = env.fill(value, at);
  }
  const authFields = f.object('auth');
  const concurrency = f.raw('concurrency');
  if (concurrency !== undefined && concurrency !== 'auto' && !(typeof concurrency === 'number' && Number.isSafeInteger(concurrency) && concurrency >= 1)) {
    throw new ConfigError(f.at('concurrency'), concurrency, "must be a whole number >= 1 or 'auto'");
  }
  const maxBody = f.raw('maxBody');
  if (maxBody !== undefined && typeof maxBody !== 'string' && typeof maxBody !== 'number') throw new ConfigError(f.at('maxBody'), maxBody, 'must be a size like 32mb or a number of bytes');
  const allowOrigins = (f.strings('allowOrigins') ?? []).map((origin, i) => {
    if (!URL.canParse(origin) || !/^https?:$/.test(new URL(origin).protocol)) throw new ConfigError(`${f.at('allowOrigins')}[${i}]`, origin, 'must be an origin like https://api.example.com');
    return new URL(origin).origin;
  });
  const client: ClientConfig = {
    baseUrl,
    headers,
    auth: authFields === undefined ? undefined : parseAuth(authFields, env),
    rate: f.rates('rate'),
    budgets: parseBudgets(f.raw('budgets'), f.at('budgets')),
    concurrency: (concurrency as number | 'auto' | undefined) ?? 'auto',
    retries: f.whole('retries', 0),
    timeoutMs: f.duration('timeout'),
    maxBodyBytes: maxBody === undefined ? undefined : parseSize(maxBody, f.at('maxBody')),
    allowOrigins,
  };
  f.done();
  return client;
}

function parseResource(name: string, value: unknown, path: string, defaultsOf: unknown, env: EnvValues): ResourceConfig {
  if (!/^[A-Za-z_][\w-]*$/.test(name)) throw new ConfigError(path, name, 'must be a name of letters, digits, _ and - (it names the output and the placeholders)');
  const f = Fields.of(typeof value === 'string' ? { path: value } : value, path);
  // Defaults are read afresh for each resource, so each is checked against what it lends.
  const defaults = defaultsOf === undefined ? undefined : Fields.of(defaultsOf, 'defaults');
  const resourcePath = env.fill(f.requiredString('path', '"/issues"'), f.at('path'));
  const params: Record<string, string> = {};
  const defaultParams = defaults?.textMap('params') ?? {};
  for (const [k, v] of Object.entries({ ...defaultParams, ...(f.textMap('params') ?? {}) })) params[k] = env.fill(v, `${f.at('params')}.${k}`);
  const refs = parentRefs(resourcePath, f.at('path'));
  for (const [k, v] of Object.entries(params)) refs.push(...parentRefs(v, `${f.at('params')}.${k}`));
  const method = f.raw('method') ?? 'GET';
  if (method !== 'GET' && method !== 'POST') throw new ConfigError(f.at('method'), method, 'must be "GET" or "POST"');
  const rawBody = f.raw('body');
  if (rawBody !== undefined && method !== 'POST') throw new ConfigError(f.at('body'), '[body]', 'is sent with POST only: add "method": "POST"');
  const body = rawBody === undefined ? undefined : bodyStrings(rawBody, f.at('body'), (text, at) => {
    const filled = env.fill(text, at);
    refs.push(...parentRefs(filled, at));
    return filled;
  });
  const parents = [...new Set(refs.map((r) => r.resource))];
  if (parents.length > 1) throw new ConfigError(f.at('path'), resourcePath, `names fields of ${parents.join(' and ')}: a resource has one parent`);
  const parent = parents[0];
  if (parent === name) throw new ConfigError(f.at('path'), resourcePath, 'names its own fields: a resource cannot be its own parent');
  const pagination = parsePagination(f.object('pagination'), defaults?.object('pagination'), f.at('pagination'));
  const itemsText = f.string('items') ?? defaults?.string('items');
  const key = f.strings('primaryKey') ?? defaults?.strings('primaryKey');
  const include = f.strings('include') ?? [];
  if (include.length > 0 && parent === undefined) throw new ConfigError(f.at('include'), include, 'copies fields of a parent: this resource names none in its path or params');
  const incrementalFields = f.object('incremental');
  const resource: ResourceConfig = {
    name,
    path: resourcePath,
    params,
    method,
    body,
    pagination,
    items: itemsText === undefined ? undefined : parseJsonPath(itemsText, f.has('items') ? f.at('items') : 'defaults.items'),
    primaryKey: key,
    parent,
    include,
    incremental: incrementalFields === undefined ? undefined : parseIncremental(incrementalFields),
  };
  checkParamClash(resource, path);
  f.done();
  return resource;
}

/** `value` (a JSON body) with each string, at any depth, mapped by `map` given its path in the file. */
function bodyStrings(value: unknown, at: string, map: (text: string, at: string) => string): unknown {
  if (typeof value === 'string') return map(value, at);
  if (Array.isArray(value)) return value.map((v, i) => bodyStrings(v, `${at}[${i}]`, map));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bodyStrings(v, `${at}.${k}`, map)]));
  return value;
}

/** `defaults` lends these to every resource; each resource checks what it takes. */
function checkDefaults(f: Fields): void {
  for (const key of ['pagination', 'items', 'primaryKey', 'params']) f.raw(key);
  f.done();
}

function parseIncremental(f: Fields): IncrementalConfig {
  const cursorPath = parseJsonPath(f.requiredString('cursorPath', '"updated_at"'), f.at('cursorPath'));
  if (cursorPath.length === 0) throw new ConfigError(f.at('cursorPath'), '$', 'must name a field of each record, e.g. "updated_at"');
  const param = f.requiredString('param', '"since"');
  const initial = f.raw('initialValue');
  if (typeof initial !== 'string' && !(typeof initial === 'number' && Number.isFinite(initial))) {
    throw new ConfigError(f.at('initialValue'), initial, 'is required: the first run starts here, e.g. "2024-01-01T00:00:00Z" or 0');
  }
  const end = f.raw('endValue');
  if (end !== undefined && typeof end !== typeof initial) throw new ConfigError(f.at('endValue'), end, `must be a ${typeof initial}, as initialValue is`);
  let lag = 0;
  const rawLag = f.raw('lag');
  if (rawLag !== undefined) {
    if (typeof initial === 'number') {
      if (typeof rawLag !== 'number' || !(rawLag >= 0)) throw new ConfigError(f.at('lag'), rawLag, 'must be a number >= 0 (the cursor is a number)');
      lag = rawLag;
    } else lag = f.duration('lag', true)!;
  }
  if (typeof initial === 'string' && Number.isNaN(Date.parse(initial)) && rawLag !== undefined) throw new ConfigError(f.at('lag'), rawLag, 'needs a timestamp initialValue (an ISO 8601 date) to step back from');
  const endParam = f.string('endParam');
  if ((end === undefined) !== (endParam === undefined)) throw new ConfigError(f.at(end === undefined ? 'endValue' : 'endParam'), undefined, 'is missing: endValue and endParam go together');
  f.done();
  return { cursorPath, param, initialValue: initial, lag, endValue: end as string | number | undefined, endParam };
}

/** A parameter the pagination or the cursor sets must not be given in `params` too. */
function checkParamClash(r: ResourceConfig, path: string): void {
  const p = r.pagination;
  const owned = new Map<string, string>();
  const own = (name: string | undefined, by: string): void => {
    if (name === undefined) return;
    if (owned.has(name)) throw new ConfigError(`${path}.${by}`, name, `is also the parameter of ${owned.get(name)}`);
    owned.set(name, by);
  };
  if (p.type === 'offset') own(p.offsetParam, 'pagination.offsetParam');
  if (p.type === 'page') own(p.pageParam, 'pagination.pageParam');
  if (p.type === 'cursor') own(p.cursorParam, 'pagination.cursorParam');
  if (p.type !== 'auto') own(p.limitParam, 'pagination.limitParam');
  own(r.incremental?.param, 'incremental.param');
  own(r.incremental?.endParam, 'incremental.endParam');
  for (const name of Object.keys(r.params)) {
    if (owned.has(name)) throw new ConfigError(`${path}.params.${name}`, r.params[name], `is set by ${owned.get(name)}: leave it out of params`);
  }
}

/** Parents before children; a parent that is not a resource, or a cycle, is refused. */
function ordered(resources: ResourceConfig[]): ResourceConfig[] {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const out: ResourceConfig[] = [];
  const placed = new Set<string>();
  const place = (r: ResourceConfig, chain: string[]): void => {
    if (placed.has(r.name)) return;
    if (chain.includes(r.name)) throw new ConfigError(`resources.${r.name}.path`, r.path, `makes a cycle of parents: ${[...chain, r.name].join(' → ')}`);
    if (r.parent !== undefined) {
      const parent = byName.get(r.parent);
      if (parent === undefined) throw new ConfigError(`resources.${r.name}.path`, r.path, `names resources.${r.parent}, which is not a resource of this file (known: ${[...byName.keys()].join(', ')})`);
      place(parent, [...chain, r.name]);
    }
    placed.add(r.name);
    out.push(r);
  };
  for (const r of resources) place(r, []);
  return out;
}
