import type { PathStep } from '../json-path.js';

/**
 * The checked form of a `sluice harvest --config source.json` file (see parse-source.ts
 * for the file's own shape and docs/harvest-pipeline.md for a guide). Strings have their
 * `{env.NAME}` filled in; `{resources.NAME.FIELD}` placeholders stay, filled per parent record.
 */
export interface SourceConfig {
  client: ClientConfig;
  /** Resources in the order the file names them; a parent always before its children. */
  resources: ResourceConfig[];
  /** Every value taken from the environment: scrubbed from whatever is shown. */
  secrets: string[];
}

export interface ClientConfig {
  /** Absolute http(s) URL every resource's path is relative to. */
  baseUrl: string;
  headers: Record<string, string>;
  auth: AuthConfig | undefined;
  /** Limits over every request of the source (the tightest paces). */
  rate: string[] | undefined;
  /** Further limits for the requests a pattern matches, each counted with a weight. */
  budgets: BudgetConfig[];
  concurrency: number | 'auto';
  retries: number | undefined;
  timeoutMs: number | undefined;
  maxBodyBytes: number | undefined;
  allowOrigins: string[];
}

export type AuthConfig =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'apiKey'; name: string; value: string; in: 'header' | 'query' }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope: string | undefined; refreshBeforeMs: number };

/** A budget: `rate` shared by the requests `match` selects; each takes `weight`, or its pattern's weight in `weights`. */
export interface BudgetConfig {
  name: string;
  rate: string[];
  /** `GET /search/**`-style patterns: a method (or `*`) and a path glob (`*` one segment, `**` any). */
  match: string[];
  weight: number;
  /** Weights by pattern, the first that matches a request winning over `weight`. */
  weights: [string, number][];
}

export type PaginationConfig =
  | { type: 'offset'; offsetParam: string; limitParam: string; limit: number; totalPath: PathStep[] | undefined; maxPages: number | undefined }
  | { type: 'page'; pageParam: string; limitParam: string | undefined; limit: number; basePage: number; totalPath: PathStep[] | undefined; maxPages: number | undefined }
  | { type: 'cursor'; cursorParam: string; cursorPath: PathStep[]; limitParam: string | undefined; limit: number; maxPages: number | undefined }
  | { type: 'link'; nextUrlPath: PathStep[] | undefined; limitParam: string | undefined; limit: number; maxPages: number | undefined }
  /** Detected from the first page (detect-pagination.ts) and kept in the resource's state. */
  | { type: 'auto'; limit: number; maxPages: number | undefined };

/** A pagination as a harvest is built with: detection done. */
export type ResolvedPagination = Exclude<PaginationConfig, { type: 'auto' }>;

export interface IncrementalConfig {
  /** Where the cursor value is in each record, e.g. `updated_at`. */
  cursorPath: PathStep[];
  /** The query parameter that asks for records from the cursor on, e.g. `since`. */
  param: string;
  initialValue: string | number;
  /** Re-read this much before the last value: ms for timestamps, units for numbers. */
  lag: number;
  /** Where to stop, sent in `endParam`; undefined: up to now. */
  endValue: string | number | undefined;
  endParam: string | undefined;
}

export interface ResourceConfig {
  name: string;
  /** The path (or absolute URL) with `{resources.PARENT.FIELD}` placeholders. */
  path: string;
  params: Record<string, string>;
  /** GET, or POST for an API that takes its query in a body. */
  method: 'GET' | 'POST';
  /** The JSON body of each request (POST): any JSON value, its strings with `{resources.PARENT.FIELD}` placeholders; undefined: none. */
  body: unknown;
  pagination: PaginationConfig;
  items: PathStep[] | undefined;
  primaryKey: string[] | undefined;
  /** The resource whose records this one is fetched for, named by the placeholders. */
  parent: string | undefined;
  /** Parent fields copied into each record as `_PARENT_FIELD`. */
  include: string[];
  incremental: IncrementalConfig | undefined;
}
