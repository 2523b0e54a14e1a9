import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { parseSourceFile } from '../../../src/cli/source-file.js';
import { ConfigError } from '../../../src/core/errors.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';
import { githubSource } from './github-source.js';

async function harvestFile(file: string, out: string): Promise<{ code: number; err: string }> {
  let err = '';
  const stderr = new Writable({ write: (chunk: Buffer, _e, done) => ((err += chunk.toString()), done()) });
  const code = await runHarvestCommand(['--config', file, '--out', out, '--quiet'], { stderr, env: { GITHUB_TOKEN: 'ghp_yaml-test' } });
  return { code, err };
}

describe('harvest --config source.yaml', () => {
  it('a YAML source harvests exactly what the same source as JSON does', async () => {
    const dir = tempDir();
    const outputs: string[] = [];
    for (const [name, text] of [
      ['source.json', (url: string) => JSON.stringify(githubSource(url))],
      ['source.yaml', (url: string) => stringify(githubSource(url))],
    ] as const) {
      const mock = await startMockApi({ tree: { repos: 3, issuesPerRepo: 4, commentsPerIssue: 2 } });
      try {
        const file = join(dir, name);
        writeFileSync(file, text(mock.url));
        const out = join(dir, `out-${name}`);
        const { code, err } = await harvestFile(file, out);
        assert.equal(code, 0, err);
        // The mock's URL differs by run (its port), and parent fields carry none of it.
        outputs.push(['repos', 'issues', 'comments'].map((r) => readFileSync(join(out, `${r}.ndjson`), 'utf8')).join('\n--\n'));
      } finally {
        await mock.close();
      }
    }
    assert.equal(outputs[1], outputs[0]);
    assert.ok(outputs[0]!.split('\n').length > 3 + 12 + 24);
  });

  it('reads YAML 1.2: `no` and dates stay strings, anchors work', async () => {
    const value = await parseSourceFile(
      'x.yml',
      ['defaults: &d', '  params: { state: no, since: 2024-01-01 }', 'resources:', '  a: { <<: *d, path: /a }', '  b: { path: /b, params: { state: no } }', ''].join('\n'),
    );
    assert.deepEqual((value as { defaults: unknown }).defaults, { params: { state: 'no', since: '2024-01-01' } });
    assert.deepEqual((value as { resources: { b: unknown } }).resources.b, { path: '/b', params: { state: 'no' } });
  });

  it('refuses a key given twice and broken YAML, naming the file and the line, before any request', async () => {
    await assert.rejects(parseSourceFile('s.yaml', 'client:\n  baseUrl: http://a\n  baseUrl: http://b\n'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.field, '--config');
      assert.match(error.message, /not valid YAML \(line 3, column 3\): Map keys must be unique \(got "s\.yaml"\)/);
      return true;
    });
    await assert.rejects(parseSourceFile('s.yaml', 'client: [unclosed\n'), /not valid YAML \(line \d+, column \d+\)/);
    await assert.rejects(parseSourceFile('s.json', '{ "client": '), /not valid JSON.*s\.json/s);
  });

  it('a field error in a YAML file names the file and the path in it', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify({ client: { baseUrl: 'http://127.0.0.1:9' }, resources: { items: { path: '/items', pagination: { type: 'cursor' } } } }));
    const { code, err } = await harvestFile(file, join(dir, 'out'));
    assert.notEqual(code, 0);
    assert.match(err, /bad\.yaml: resources\.items\.pagination/);
  });
});
