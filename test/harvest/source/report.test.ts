import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';
import { githubSource } from './github-source.js';

const TOKEN = 'ghp_report-test-token';

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const stderr = new Writable({ write: (chunk: Buffer, _e, done) => ((err += chunk.toString()), done()) });
  const code = await runHarvestCommand(argv, { stderr, env: { GITHUB_TOKEN: TOKEN } });
  return { code, err };
}

describe('harvest --config --report', () => {
  it('writes one HTML page: the whole source against its budget and a row per resource, with no secret in it', async () => {
    const mock = await startMockApi({ tree: { repos: 3, issuesPerRepo: 5, commentsPerIssue: 2 } });
    const dir = tempDir();
    try {
      const file = join(dir, 'github.json');
      writeFileSync(file, JSON.stringify(githubSource(mock.url)));
      const report = join(dir, 'report.html');
      const { code, err } = await run(['--config', file, '--out', join(dir, 'out'), '--report', report, '--quiet']);
      assert.equal(code, 0, err);
      const html = readFileSync(report, 'utf8');
      assert.match(html, /<h2>Resources<\/h2>/);
      assert.match(html, /<th>repos<\/th><td>3 records in 1 pages \(\+3 this run\); complete<\/td>/);
      assert.match(html, /<th>issues<\/th><td>15 records in 3 pages \(\+15 this run\); complete<\/td>/);
      assert.match(html, /<th>comments<\/th><td>30 records in 15 pages \(\+30 this run\); complete<\/td>/);
      assert.match(html, /<h2>Summary<\/h2>/);
      assert.ok(!html.includes(TOKEN), 'the token from the environment is nowhere in the report');
    } finally {
      await mock.close();
    }
  });

  it('refuses a report over a file the harvest keeps, before any request', async () => {
    const mock = await startMockApi({ tree: { repos: 2, issuesPerRepo: 1, commentsPerIssue: 0 } });
    const dir = tempDir();
    try {
      const file = join(dir, 'github.json');
      writeFileSync(file, JSON.stringify(githubSource(mock.url)));
      const out = join(dir, 'out');
      for (const own of ['issues.ndjson', 'issues.ndjson.state.json', 'repos.parents.ndjson']) {
        const { code, err } = await run(['--config', file, '--out', out, '--report', join(out, own), '--quiet']);
        assert.equal(code, 2, err);
        assert.match(err, /--report: .*a file of the harvest itself/);
        assert.ok(!existsSync(join(out, own)));
      }
      assert.equal(mock.stats().requests, 0);
    } finally {
      await mock.close();
    }
  });
});
