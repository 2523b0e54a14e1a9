// `sluice harvest --sink`: the options checked before anything opens, and a harvest into each
// sink holding what `--out` would — the records as the server sent them, in page order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Harvest } from '../../../src/harvest/engine.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { EXIT, runHarvestCommand } from '../../../src/cli/harvest.js';
import { configOf, fakeApi, memoryStream, ORIGIN, tempDir } from '../helpers.js';
import { dropSchema, query, sinkUrl, skipPostgres, uniqueSchema } from './pg-available.js';
import { duckdbRecords, parquetRecords, postgresRecords } from './read-back.js';

const OFFSET = `${ORIGIN}/records?offset={offset}&limit={limit}`;

describe('--sink options are checked before anything opens', () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['--sink with --out', ['--sink', 'duckdb:x.duckdb', '--out', 'x.ndjson'], /^--sink: and --out go one at a time/],
    ['an unknown sink', ['--sink', 'mysql://h/db'], /^--sink: must be a postgres:\/\/ URL/],
    ['a password in a refused sink URL', ['--sink', 'mysql://u:hunter2@h/db'], /^(?![\s\S]*hunter2)--sink:/],
    ['--primary-key without --sink', ['--primary-key', 'id'], /^--primary-key: applies to a --sink/],
    ['a primary key that cannot be a column', ['--sink', 'duckdb:x.duckdb', '--primary-key', 'a.b'], /^--primary-key: must be a top-level field name/],
    ['a primary key the sink keeps itself', ['--sink', 'duckdb:x.duckdb', '--primary-key', 'record'], /^--primary-key: is a column the sink keeps itself/],
    ['--write other than append or merge', ['--sink', 'duckdb:x.duckdb', '--write', 'upsert'], /^--write: must be 'append' or 'merge'/],
    ['merge without a primary key', ['--sink', 'duckdb:x.duckdb', '--write', 'merge'], /^--write: merge needs --primary-key/],
    ['merge into Parquet', ['--sink', 'parquet:dir', '--primary-key', 'id', '--write', 'merge'], /^--write: is not possible in Parquet/],
  ];
  for (const [name, args, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => configOf([OFFSET, ...args]), (error: Error) => error.name === 'ConfigError' && message.test(error.message));
    });
  }
});

/** Records whose text JSON.parse would not give back as it was: the sinks must keep it. */
const EXACT = ['{"id":1,"n":1.0}', '{"id":2,"big":12345678901234567891}', '{"id":3,"e":"\\u00e9","x":1e3}'];

/** An API of 3 pages: the exact-text records, then 37 plain ones. */
function api(): ReturnType<typeof fakeApi> {
  return fakeApi(40, (url) => {
    if (url.searchParams.get('offset') !== '0') return undefined;
    const plain = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: i + 4, name: `r${i + 4}` }));
    return { raw: `{"count":40,"results":[${[...EXACT, ...plain].join(',')}]}` };
  });
}

async function harvest(args: string[]): Promise<void> {
  const h = await Harvest.open(configOf([OFFSET, '--page-size', '15', '--concurrency', '2', ...args]), { fetch: api().fetch });
  try {
    const outcome = await h.run(nullMonitor);
    assert.equal(outcome.complete, true);
  } finally {
    await h.close();
  }
}

describe('a harvest into each sink holds what --out holds', () => {
  const schemas: string[] = [];
  after(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });
  const ndjson = async (): Promise<string[]> => {
    const out = join(tempDir(), 'out.ndjson');
    await harvest(['--out', out]);
    return readFileSync(out, 'utf8').split('\n').filter(Boolean);
  };

  it('DuckDB: the same records, each as the server sent it, in order', async () => {
    const file = join(tempDir(), 'out.duckdb');
    await harvest(['--sink', `duckdb:${file}`]);
    const held = await duckdbRecords(file);
    assert.deepEqual(held, await ndjson());
    assert.deepEqual(held.slice(0, 3), EXACT);
  });

  it('Parquet: the same records, each as the server sent it, in order', async () => {
    const dir = tempDir();
    await harvest(['--sink', `parquet:${dir}`, '--primary-key', 'id']);
    const held = await parquetRecords(join(dir, 'records'));
    assert.deepEqual(held, await ndjson());
    assert.deepEqual(held.slice(0, 3), EXACT);
  });

  it('Postgres: the same records as JSONB (numbers exact), in order', { skip: skipPostgres }, async () => {
    const schema = uniqueSchema('into');
    schemas.push(schema);
    await harvest(['--sink', sinkUrl(schema), '--primary-key', 'id']);
    const held = (await postgresRecords(schema)) as Array<Record<string, unknown>>;
    // pg parses jsonb with JSON.parse: compare as parsed; the exact number is checked as text.
    assert.deepEqual(held, (await ndjson()).map((line) => JSON.parse(line) as unknown));
    const [big] = await query<{ big: string }>(`SELECT record->>'big' AS big FROM "${schema}".records WHERE id = '2'`);
    assert.equal(big?.big, '12345678901234567891');
  });
});

describe('failed pages with --sink', () => {
  it('are kept in the state, named in the incomplete line, and fetched again by --retry-failed', async () => {
    const file = join(tempDir(), 'failed.duckdb');
    let broken = true;
    const { fetch } = fakeApi(40, (url) => (broken && url.searchParams.get('offset') === '15' ? { status: 500, body: { error: 'down' } } : undefined));
    const argv = [OFFSET, '--page-size', '15', '--retries', '0', '--concurrency', '2', '--sink', `duckdb:${file}`, '--quiet'];
    const stderr = memoryStream();
    assert.equal(await runHarvestCommand(argv, { fetch, stderr, stdout: memoryStream(), env: {} }), EXIT.incomplete);
    assert.match(stderr.text(), /1 pages? not written whole, kept in the state in duckdb:.*; --retry-failed fetches them again/);
    broken = false;
    assert.equal(await runHarvestCommand([...argv, '--retry-failed'], { fetch, stderr: memoryStream(), stdout: memoryStream(), env: {} }), EXIT.complete);
    const ids = (await duckdbRecords(file)).map((text) => (JSON.parse(text) as { id: number }).id);
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), 'every record once, the retried page after the rest');
  });
});

describe('--report beside a --sink', () => {
  it('is refused when it is the DuckDB file itself, before anything opens', async () => {
    const file = join(tempDir(), 'out.duckdb');
    const stderr = memoryStream();
    const code = await runHarvestCommand([OFFSET, '--sink', `duckdb:${file}`, '--report', file], { fetch: fakeApi(5).fetch, stderr, stdout: memoryStream(), env: {} });
    assert.equal(code, EXIT.usage);
    assert.match(stderr.text(), /--report: is .*out\.duckdb, a file of the harvest itself/);
  });
});

