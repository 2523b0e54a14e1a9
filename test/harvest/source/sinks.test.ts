import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';
import { duckdbRecords, postgresRecords } from '../sinks/read-back.js';
import { dropSchema, sinkUrl, skipPostgres, uniqueSchema } from '../sinks/pg-available.js';
import { githubSource } from './github-source.js';

type Row = Record<string, unknown>;

async function harvest(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const stderr = new Writable({ write: (c: Buffer, _e, done) => ((err += c.toString()), done()) });
  const code = await runHarvestCommand([...args, '--quiet'], { stderr, env: { GITHUB_TOKEN: 'token-value' } });
  return { code, err };
}

/**
 * The GitHub source into a database sink, twice with 5 % of the issues changed between:
 * every resource a table, issues and comments merged by primary key — the second run's
 * re-read records replace their old rows, so the tables equal a fresh full harvest.
 */
async function twoRuns(sink: string, read: (table: string) => Promise<Row[]>): Promise<void> {
  const mock = await startMockApi({ tree: { repos: 5, issuesPerRepo: 12, commentsPerIssue: 3 } });
  const dir = tempDir();
  try {
    const file = join(dir, 'source.json');
    writeFileSync(file, JSON.stringify(githubSource(mock.url)));
    const args = ['--config', file, '--out', join(dir, 'work'), '--sink', sink];
    const first = await harvest(args);
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(await Promise.all(['repos', 'issues', 'comments'].map(async (t) => (await read(t)).length)), [5, 60, 180]);
    mock.changeRecords(0.05);
    const second = await harvest(args);
    assert.equal(second.code, 0, second.err);
    const issues = await read('issues');
    assert.equal(issues.length, 60, 'merged by id, not appended');
    assert.equal(issues.filter((i) => i.revision === 1).length, 3);
    assert.equal((await read('comments')).length, 180);

    const fresh = join(tempDir(), 'fresh');
    const clean = await harvest(['--config', file, '--out', fresh]);
    assert.equal(clean.code, 0, clean.err);
    const { readFileSync } = await import('node:fs');
    const freshIssues = readFileSync(join(fresh, 'issues.ndjson'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row);
    const byId = (rows: Row[]): Row[] => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(byId(issues), byId(freshIssues), 'the table equals a fresh full harvest');
  } finally {
    await mock.close();
  }
}

describe('harvest --config into a database sink', () => {
  it('DuckDB: a table per resource, merged by primary key on the next sync', async () => {
    const file = join(tempDir(), 'github.duckdb');
    await twoRuns(`duckdb:${file}`, async (table) => (await duckdbRecords(file, table)).map((t) => JSON.parse(t) as Row));
  });

  it('Postgres: the same', { skip: skipPostgres }, async () => {
    const schema = uniqueSchema('source');
    try {
      await twoRuns(sinkUrl(schema), async (table) => (await postgresRecords(schema, table)) as Row[]);
    } finally {
      await dropSchema(schema);
    }
  });
});
