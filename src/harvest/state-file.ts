import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { HarvestConfig } from './config.js';
import { StateRefusedError } from './harvest-errors.js';
import { scrub } from './secrets.js';
import { formatPath } from './json-path.js';
import { urlForState, urlFromState } from './saved-url.js';
import type { StateCodec } from './sinks/sink.js';
import { checkStateFields } from './state-check.js';
import { isIndexed, type Failure, type HarvestState, type IndexedFailure, type IndexedState, type NextPage } from './state.js';

/**
 * The state file, `<out>.state.json`: the HarvestState as it is, with the version of this
 * format, the fingerprint of the command that wrote it, and its template (redacted); the
 * next page's URL without the user's own secrets (saved-url.ts). Every field is checked
 * when it is read (state-check.ts).
 *
 * Version 3 adds what an incomplete harvest keeps (the served page size, empty and short
 * pages, a cursor's stated total) and keeps a next URL's cursors as they were; version 2
 * is read as it is, and version 1 — one flat record for every pagination, `done` stored,
 * `nextUrl` undefined / null / a URL — is converted. Both are written back as version 3 at
 * the next commit.
 */
type StateFile = { version: 3; fingerprint: string; source: string } & HarvestState;

/** The version 1 file: every field for every pagination, whether it applies or not. */
interface StateFileV1 {
  version: 1;
  fingerprint: string;
  bytes: number;
  records: number;
  pages: number;
  /** offset/page: index of the next page to write. */
  nextIndex: number;
  totalPages?: number | undefined;
  totalRecords?: number | undefined;
  /** cursor/link: undefined before the first page, null after the last, else the next page's URL. */
  nextUrl?: string | null | undefined;
  done: boolean;
  failed: Array<{ index?: number; url?: string; reason: string }>;
}

/** The state file next to an output: `<out>.state.json`. */
export function statePathOf(out: string): string {
  return `${out}.state.json`;
}

/** The failed-pages file next to an output: `<out>.failed.ndjson`. */
export function failedPathOf(out: string): string {
  return `${out}.failed.ndjson`;
}

export function serializeState(state: HarvestState, config: HarvestConfig): string {
  const saved = isIndexed(state) || (state.next.at !== 'url' && state.next.at !== 'after') ? state : { ...state, next: { ...state.next, url: urlForState(state.next.url, config) } };
  const file: StateFile = { version: 3, fingerprint: fingerprintOf(config), source: config.source, ...saved };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Reads a state file; undefined when there is none. Throws StateRefusedError naming the
 * file (and the field) when it is not a state file, is damaged, or is another command's;
 * the file system's error when it cannot be read at all.
 */
export async function loadState(path: string, config: HarvestConfig): Promise<HarvestState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error; // a path problem (a directory, no permission): the caller names the file
  }
  return decodeState(text, path, config);
}

/** The state in a state file's text; throws StateRefusedError naming `path` (a file, or where a sink keeps it) as loadState does. */
export function decodeState(text: string, path: string, config: HarvestConfig): HarvestState {
  let file: StateFile | StateFileV1 | ({ version: 2; fingerprint: string; source: string } & HarvestState);
  try {
    file = JSON.parse(text) as StateFile | StateFileV1;
  } catch {
    throw new StateRefusedError(path, 'is not a harvest state file (not JSON); remove it to start over');
  }
  checkStateFields(file, path);
  if (file.fingerprint !== fingerprintOf(config)) {
    throw new StateRefusedError(path, 'belongs to a harvest with another URL template or pagination options; use another --out or remove it to start over');
  }
  const state = file.version === 1 ? fromV1(file, config.paginate) : withoutHeader(file);
  if (!isIndexed(state) && (state.next.at === 'url' || state.next.at === 'after')) {
    try {
      state.next = { ...state.next, url: urlFromState(state.next.url, config) };
    } catch (error) {
      throw new StateRefusedError(path, `${(error as Error).message}; remove the output and its state file to start over`);
    }
  }
  return state;
}

/** The state file's format as a sink's StateCodec: what every sink stores for a one-endpoint harvest. */
export function stateCodecOf(config: HarvestConfig): StateCodec<HarvestState> {
  return { encode: (state) => serializeState(state, config), decode: (text, where) => decodeState(text, where, config) };
}

/** The fields each shape of state has; anything else in a file (a hand edit) is left behind. */
const FIELDS = {
  indexed: ['paginate', 'bytes', 'records', 'pages', 'stopped', 'nextIndex', 'pageSize', 'total', 'end', 'emptyFrom', 'short', 'failed'],
  followed: ['paginate', 'bytes', 'records', 'pages', 'stopped', 'next', 'total'],
} as const;

/** The state itself: a version 2 or 3 file's fields of its shape (version 2 lacks only fields that are optional). */
function withoutHeader(file: { version: 2 | 3; fingerprint: string; source: string } & HarvestState): HarvestState {
  const from = file as unknown as Record<string, unknown>;
  const state: Record<string, unknown> = {};
  for (const field of FIELDS[isIndexed(file) ? 'indexed' : 'followed']) if (from[field] !== undefined) state[field] = from[field];
  return state as unknown as HarvestState;
}

/** A version 1 record in the shape of its pagination; the same command goes on from it as version 1 did. */
function fromV1(file: StateFileV1, paginate: HarvestConfig['paginate']): HarvestState {
  const written = { bytes: file.bytes, records: file.records, pages: file.pages };
  if (paginate === 'cursor' || paginate === 'link') {
    const stop = file.done ? undefined : file.failed.at(-1);
    return { paginate, ...written, next: nextOfV1(file, stop), ...(stop ? { stopped: failure(stop) } : {}) };
  }
  const state: IndexedState = { paginate, ...written, nextIndex: file.nextIndex, failed: [] };
  if (file.totalPages !== undefined && file.totalRecords !== undefined) state.total = { records: file.totalRecords, pages: file.totalPages };
  // done was stored: an end the total does not account for was an empty page, a page without a next, or --max-pages.
  if (file.done && !(state.total !== undefined && file.nextIndex >= state.total.pages)) state.end = file.nextIndex;
  // Without a total, pages went one at a time and a failure stopped the harvest there.
  if (state.total === undefined && !file.done) {
    const stop = file.failed.at(-1);
    if (stop) state.stopped = failure(stop);
  } else {
    state.failed = file.failed.map((f): IndexedFailure => ({ index: f.index ?? file.nextIndex, ...failure(f) }));
  }
  return state;
}

/**
 * Where a version 1 cursor/link harvest goes on. Its nextUrl also named the page whose next
 * was refused — already written, and written again on resume — told apart by the reason
 * version 1 gave that stop.
 */
function nextOfV1(file: StateFileV1, stop: StateFileV1['failed'][number] | undefined): NextPage {
  if (file.done || file.nextUrl === null) return { at: 'end' };
  if (file.nextUrl === undefined) return { at: 'first' };
  if (stop?.url === file.nextUrl && stop.reason.startsWith('after this page: ')) return { at: 'after', url: file.nextUrl };
  return { at: 'url', url: file.nextUrl };
}

function failure(f: { url?: string; reason: string }): Failure {
  return { url: f.url ?? '', reason: f.reason };
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
    // Present only when used, so the states of GET harvests written before still resume.
    ...(config.method === 'POST' ? { method: config.method } : {}),
    ...(config.body === undefined ? {} : { body: scrub(config.body, config.secretValues ?? []) }),
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}
