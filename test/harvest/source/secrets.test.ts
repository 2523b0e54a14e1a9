import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';

const KEY = 'k3y-that-must-not-leak-7f2a';

/** Everything a source run leaves or prints: its files and its output, to search for a secret. */
async function leftovers(config: object, faults?: string): Promise<string> {
  const mock = await startMockApi({ records: 60, faults });
  const dir = tempDir();
  try {
    const file = join(dir, 'source.json');
    writeFileSync(file, JSON.stringify(config).replaceAll('MOCK', mock.url));
    let text = '';
    const sink = new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) });
    await runHarvestCommand(['--config', file, '--out', join(dir, 'out'), '--json'], { stdout: sink, stderr: sink, env: { KEY } });
    for (const name of readdirSync(join(dir, 'out'))) text += readFileSync(join(dir, 'out', name), 'utf8');
    return text;
  } finally {
    await mock.close();
  }
}

describe('a source keeps its secrets', () => {
  it('an API key in a query parameter of any name is in no file, state or message, failures included', async () => {
    const config = {
      client: { baseUrl: 'MOCK', auth: { type: 'apiKey', in: 'query', name: 'appid', value: '{env.KEY}' }, retries: 0 },
      resources: {
        follow: { path: '/records', pagination: { type: 'link', nextUrlPath: 'next' } },
        missing: { path: '/nowhere', pagination: { type: 'offset' } },
      },
    };
    const text = await leftovers(config, '5xx=0.2');
    assert.ok(text.length > 1000);
    assert.ok(!text.includes(KEY), 'the key leaked');
  });
});
