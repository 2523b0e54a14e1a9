// `sluice demo` — what `npm start` runs — end to end: both parts finish, every record is
// where the demo says, and each report is written. About 20 s of real time (the mocks pace
// at their limits); no figure of time is asserted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../harvest/helpers.js';
import { duckdbRecords } from '../harvest/sinks/read-back.js';
import { runCli } from '../harvest/spawn-cli.js';

describe('sluice demo', () => {
  it('harvests one endpoint into NDJSON, then a repositories → issues source into DuckDB, each with its report', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const run = await runCli(['demo', '--dir', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(join(dir, 'records.ndjson'), 'utf8').trim().split('\n').length, 6000);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<h2>Summary<\/h2>/);
    const repos = await duckdbRecords(join(dir, 'demo.duckdb'), 'repos');
    const issues = (await duckdbRecords(join(dir, 'demo.duckdb'), 'issues')).map((text) => JSON.parse(text) as { id: unknown; _repos_name: string });
    assert.equal(repos.length, 20);
    assert.equal(issues.length, 600);
    assert.equal(new Set(issues.map((i) => i.id)).size, 600, 'every issue once');
    assert.equal(new Set(issues.map((i) => i._repos_name)).size, 20, 'the issues of every repository, each with its repository name');
    const report = readFileSync(join(dir, 'source-report.html'), 'utf8');
    assert.match(report, /<th>repos<\/th><td>20 records/);
    assert.match(report, /<th>issues<\/th><td>600 records/);
    assert.match(run.stderr, /2 of 2: .*20 repositories → 600 issues/);
  });

  it('refuses a bad --sink before starting anything', async () => {
    const run = await runCli(['demo', '--sink', 'mysql://x']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /sluice demo: --sink: must be a postgres:\/\/ URL/);
    assert.doesNotMatch(run.stderr, /1 of 2/);
  });
});
