import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { formatPath } from './json-path.js';
import type { HarvestConfig } from './config.js';

/** A page that failed after its retries: by index (offset/page) or by its URL, secrets redacted (cursor/link). */
export interface FailedPage {
  index?: number;
  url?: string;
  reason: string;
}

/**
 * HarvestState: what a harvest has made durable. `bytes` is the length of the output that
 * holds exactly the pages counted here; anything after it is a page whose state was never
 * saved, and is cut off and fetched again on resume. Holds no secret: URLs are redacted.
 */
export interface HarvestState {
  version: 1;
  /** Hash of the options that decide which records land where: a different command does not resume this one. */
  fingerprint: string;
  source: string;
  bytes: number;
  records: number;
  /** Pages written. */
  pages: number;
  /** offset/page: index of the next page to write (every one before it is written or failed). */
  nextIndex: number;
  /** offset/page: pages in the data set, once a total was seen. */
  totalPages?: number;
  totalRecords?: number;
  /** cursor/link: the next page's URL (redacted), null when there is none. */
  nextUrl?: string | null;
  done: boolean;
  failed: FailedPage[];
}

export function freshState(config: HarvestConfig): HarvestState {
  return { version: 1, fingerprint: fingerprintOf(config), source: config.source, bytes: 0, records: 0, pages: 0, nextIndex: 0, done: false, failed: [] };
}

/** The state file next to an output: `<out>.state.json`. */
export function statePathOf(out: string): string {
  return `${out}.state.json`;
}

/** The failed-pages file next to an output: `<out>.failed.ndjson`. */
export function failedPathOf(out: string): string {
  return `${out}.failed.ndjson`;
}

/** Reads a state file; undefined when there is none. Throws a clear Error when it is unreadable or from another command. */
export async function loadState(path: string, config: HarvestConfig): Promise<HarvestState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let state: HarvestState;
  try {
    state = JSON.parse(text) as HarvestState;
  } catch {
    throw new Error(`${path} is not a harvest state file (not JSON); remove it to start over`);
  }
  if (state?.version !== 1 || typeof state.bytes !== 'number' || !Array.isArray(state.failed)) {
    throw new Error(`${path} is not a harvest state file this version reads; remove it to start over`);
  }
  if (state.fingerprint !== fingerprintOf(config)) {
    throw new Error(`${path} belongs to a harvest with another URL template or pagination options; use another --out or remove it to start over`);
  }
  return state;
}

export function serializeState(state: HarvestState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** What decides which records land where in the output; headers and rates do not. */
function fingerprintOf(config: HarvestConfig): string {
  const shape = {
    template: config.source, // redacted: a rotated API key still resumes
    paginate: config.paginate,
    pageSize: config.pageSize,
    firstPage: config.firstPage,
    items: config.items && formatPath(config.items),
    next: config.next && formatPath(config.next),
    total: config.total && formatPath(config.total),
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}
