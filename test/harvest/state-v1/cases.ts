import { fakeApi, ORIGIN, record, type FakeApi } from '../helpers.js';

/** A secret in the template's query: redacted in the state, restored from the template on resume. */
export const SECRET = 'v1-secret-7d2e';

const TOTAL = 57;

/**
 * A harvest stopped part-way by the code that wrote version 1 state files (commit 98db5db),
 * and how it is resumed. `fixtures/<name>/` holds what the first run left (`out.ndjson` and
 * its `.state.json`, `.failed.ndjson`) and what resuming it with that same code gave
 * (`expected.ndjson`, `expected.json`): a newer reader must resume it the same way. They
 * were made once, with that commit's engine and these cases, and are never regenerated.
 * One expectation is mended by hand, said at its case.
 */
export interface V1Case {
  name: string;
  /** The harvest's arguments without `--out`. */
  args: string[];
  /** What the first run met. */
  first: () => FakeApi;
  /** The first run is stopped (the process dies) just after the n-th state write; undefined: it ran to its end. */
  stopAfterStateWrites?: number;
  /** Arguments the resume adds. */
  resumeArgs?: string[];
  /** What the resume meets. Default: a healthy API. */
  resume?: () => FakeApi;
}

const offsetArgs = [`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '5', '--concurrency', '3', '--retries', '0'];
const cursorArgs = [`${ORIGIN}/cursor?cursor={cursor}&limit={limit}&api_key=${SECRET}`, '--next', 'next_cursor', '--page-size', '5', '--retries', '0'];
const gone = (offsets: string[]) => () => fakeApi(TOTAL, (url) => (offsets.includes(url.searchParams.get('offset')!) ? { status: 404, body: { error: 'gone' } } : undefined));
const healthy = () => fakeApi(TOTAL);
/** A cursor API that answers 500 to its n-th request. */
const cursorFailingAt = (n: number) => () => fakeApi(TOTAL, (_url, i) => (i === n ? { status: 500 } : undefined));
const elsewhere = () => fakeApi(0, (url) => (url.host === 'api.test' ? { body: { data: [record(0)], next: 'https://elsewhere.test/p2' } } : { body: { data: [record(1)], next: null } }));

export const V1_CASES: V1Case[] = [
  { name: 'offset-midway-failed-page', args: offsetArgs, first: gone(['5']), stopAfterStateWrites: 3, resume: gone(['5']) },
  { name: 'offset-midway-retry-failed', args: offsetArgs, first: gone(['5']), stopAfterStateWrites: 3, resumeArgs: ['--retry-failed'] },
  { name: 'offset-done-failed-page', args: offsetArgs, first: gone(['35']) },
  { name: 'offset-done-retry-failed', args: offsetArgs, first: gone(['35']), resumeArgs: ['--retry-failed'] },
  { name: 'offset-first-page-failed', args: offsetArgs, first: gone(['0']) },
  { name: 'offset-no-total-midway', args: [`${ORIGIN}/nototal?offset={offset}&limit={limit}`, '--page-size', '10'], first: healthy, stopAfterStateWrites: 3 },
  { name: 'offset-max-pages', args: [...offsetArgs, '--max-pages', '4'], first: healthy, resumeArgs: ['--max-pages', '8'] },
  { name: 'page-midway', args: [`${ORIGIN}/pages?page={page}&per_page={limit}`, '--page-size', '10', '--concurrency', '2'], first: healthy, stopAfterStateWrites: 3 },
  { name: 'cursor-midway', args: cursorArgs, first: healthy, stopAfterStateWrites: 4 },
  { name: 'cursor-first-page-failed', args: cursorArgs, first: cursorFailingAt(1) },
  { name: 'cursor-failed-midway', args: cursorArgs, first: cursorFailingAt(3) },
  { name: 'cursor-done', args: cursorArgs, first: healthy },
  { name: 'cursor-max-pages', args: [...cursorArgs, '--max-pages', '3'], first: healthy },
  { name: 'link-midway', args: [`${ORIGIN}/link?page=1&per_page=5`, '--paginate', 'link'], first: healthy, stopAfterStateWrites: 3 },
  // Version 1 wrote the page whose next was refused a second time on resume (3 records, 3
  // pages); the expectation is each record once: 2 records, 2 pages, 42 bytes.
  { name: 'link-next-refused', args: [`${ORIGIN}/p1?c={cursor}`, '--next', 'next'], first: elsewhere, resumeArgs: ['--allow-origin', 'https://elsewhere.test'], resume: elsewhere },
];
