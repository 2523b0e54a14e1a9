import { DEFAULTS, type HarvestConfig, type PaginationMode } from '../config.js';
import { redactTemplate, scrub } from '../secrets.js';
import { UrlTemplate } from '../template.js';
import { fillParent, fillParentBody } from './placeholders.js';
import type { AuthConfig, ResolvedPagination, ResourceConfig, SourceConfig } from './source-config.js';

/** What one harvest of a resource is run for: where it writes, and what its URL is filled with. */
export interface ResourceRun {
  out: string | undefined;
  /** The parent record a child is fetched for. */
  parent?: unknown;
  /** The incremental cursor's value this run asks from (already stepped back by the lag). */
  since?: string | number | undefined;
  /** The pagination to use: the resource's own, or what was detected for an `auto` one. */
  pagination: ResolvedPagination;
  retryFailed?: boolean | undefined;
}

/**
 * harvestConfigOf: one resource of a source as the engine's HarvestConfig — its URL
 * template built from the client's base URL, the resource's path and params (a parent's
 * fields filled in), the pagination's parameters as harvest's placeholders, an API key in
 * the query and the incremental cursor; the client's headers and auth; its limits.
 */
export function harvestConfigOf(source: SourceConfig, resource: ResourceConfig, run: ResourceRun): HarvestConfig {
  const { client } = source;
  const p = run.pagination;
  const query: string[] = [];
  const add = (name: string, value: string): void => void query.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  const placeholder = (name: string, which: string): void => void query.push(`${encodeURIComponent(name)}={${which}}`);
  for (const [name, value] of Object.entries(resource.params)) add(name, run.parent === undefined ? value : fillParent(value, run.parent, false));
  if (resource.incremental && run.since !== undefined) add(resource.incremental.param, String(run.since));
  if (resource.incremental?.endParam !== undefined && resource.incremental.endValue !== undefined) add(resource.incremental.endParam, String(resource.incremental.endValue));
  if (client.auth?.type === 'apiKey' && client.auth.in === 'query') add(client.auth.name, client.auth.value);
  let mode: PaginationMode;
  switch (p.type) {
    case 'offset':
      placeholder(p.offsetParam, 'offset');
      placeholder(p.limitParam, 'limit');
      mode = 'offset';
      break;
    case 'page':
      placeholder(p.pageParam, 'page');
      if (p.limitParam !== undefined) placeholder(p.limitParam, 'limit');
      mode = 'page';
      break;
    case 'cursor':
      if (p.limitParam !== undefined) placeholder(p.limitParam, 'limit');
      placeholder(p.cursorParam, 'cursor');
      mode = 'cursor';
      break;
    case 'link':
      if (p.limitParam !== undefined) placeholder(p.limitParam, 'limit');
      mode = 'link';
      break;
  }
  const path = run.parent === undefined ? resource.path : fillParent(resource.path, run.parent);
  const url = joinUrl(client.baseUrl, path);
  const text = query.length === 0 ? url : `${url}${url.includes('?') ? '&' : '?'}${query.join('&')}`;
  const shown = scrub(redactTemplate(text), source.secrets);
  const field = `resources.${resource.name}.path`;
  return {
    template: UrlTemplate.parse(text, field, shown),
    source: shown,
    paginate: mode,
    pageSize: p.limit,
    firstPage: p.type === 'page' ? p.basePage : 1,
    items: resource.items,
    next: p.type === 'cursor' ? p.cursorPath : p.type === 'link' ? p.nextUrlPath : undefined,
    total: p.type === 'offset' || p.type === 'page' ? p.totalPath : undefined,
    maxPages: p.maxPages,
    headers: { ...client.headers, ...authHeaders(client.auth) },
    method: resource.method,
    ...(resource.body === undefined ? {} : { body: JSON.stringify(run.parent === undefined ? resource.body : fillParentBody(resource.body, run.parent)) }),
    allowOrigins: new Set(client.allowOrigins),
    maxBodyBytes: client.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    retries: client.retries ?? DEFAULTS.retries,
    timeoutMs: client.timeoutMs ?? DEFAULTS.timeoutMs,
    rate: client.rate,
    adaptive: true,
    concurrency: client.concurrency,
    out: run.out,
    retryFailed: run.retryFailed ?? false,
    ...(client.auth?.type === 'apiKey' && client.auth.in === 'query' ? { secretParams: [client.auth.name] } : {}),
    secretValues: source.secrets,
  };
}

/** The headers a static auth adds; OAuth2's token is added per request (oauth2.ts). */
export function authHeaders(auth: AuthConfig | undefined): Record<string, string> {
  switch (auth?.type) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    case 'apiKey':
      return auth.in === 'header' ? { [auth.name.toLowerCase()]: auth.value } : {};
    default:
      return {};
  }
}

/** `base` + `path` as dlt joins them: an absolute path URL stands alone, else one `/` between. */
export function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
