import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHarvestArgs } from '../../src/cli/harvest-args.js';
import { runHarvestCommand } from '../../src/cli/harvest.js';
import { ConfigError } from '../../src/core/errors.js';
import { parseHeader } from '../../src/harvest/secrets.js';
import { fakeApi, memoryStream } from './helpers.js';

const URL_OK = 'https://api.test/records?offset={offset}&limit={limit}';

function fieldOf(args: string[], env: Record<string, string> = {}): string {
  try {
    parseHarvestArgs(args, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.field;
  }
  assert.fail(`no error for ${args.join(' ')}`);
}

describe('harvest options', () => {
  const cases: Array<[string, string[]]> = [
    ['<url-template>', ['https://api.test/x?o={ofset}']],
    ['<url-template>', ['ftp://api.test/x?o={offset}']],
    ['<url-template>', ['not a url {offset}']],
    ['<url-template>', ['https://api.test/x?o={offset']],
    ['<url-template>', ['https://api.test/x?p={page}', '--paginate', 'offset']],
    ['<url-template>', []],
    ['--paginate', ['https://api.test/x']],
    ['--paginate', [URL_OK, '--paginate', 'scroll']],
    ['--next', ['https://api.test/x?c={cursor}']],
    ['--next', ['https://api.test/x?c={cursor}', '--next', 'a..b']],
    ['--items', [URL_OK, '--items', '[x']],
    ['--total', [URL_OK, '--total', '.x']],
    ['--rate', [URL_OK, '--rate', '100/fortnight']],
    ['--rate', [URL_OK, '--rate', '10/s', '--rate', 'lots']],
    ['--concurrency', [URL_OK, '--concurrency', '0']],
    ['--concurrency', [URL_OK, '--concurrency', 'many']],
    ['--retries', [URL_OK, '--retries=-1']],
    ['--timeout', [URL_OK, '--timeout', 'soon']],
    ['--page-size', [URL_OK, '--page-size', '0']],
    ['--max-pages', [URL_OK, '--max-pages', '1.5']],
    ['--max-body', [URL_OK, '--max-body', 'big']],
    ['--header', [URL_OK, '--header', 'no colon here']],
    ['--header', [URL_OK, '--header', 'Authorization: Bearer $MISSING']],
    ['--allow-origin', [URL_OK, '--allow-origin', 'ftp://x.test']],
    ['--key', [URL_OK, '--redis', 'redis://localhost:6379', '--rate', '1/s']], // the one missing
    ['--redis', [URL_OK, '--key', 'k', '--rate', '1/s']],
    ['--retry-failed', [URL_OK, '--retry-failed']],
    ['arguments', [URL_OK, '--bogus']],
  ];
  for (const [field, args] of cases) {
    it(`names ${field} for: ${args.slice(1).join(' ') || args[0] || '(nothing)'}`, () => {
      assert.equal(fieldOf(args), field);
    });
  }

  it('infers the pagination from the template and fills defaults', () => {
    const { config } = parseHarvestArgs([URL_OK], {});
    assert.equal(config.paginate, 'offset');
    assert.equal(config.pageSize, 100);
    assert.equal(config.concurrency, 'auto');
    assert.equal(config.retries, 4);
    assert.equal(config.timeoutMs, 30_000);
    assert.equal(parseHarvestArgs(['https://api.test/x?page={page}'], {}).config.paginate, 'page');
  });

  it('expands $VAR and ${VAR} in header values from the environment; $$ is a dollar', () => {
    assert.deepEqual(parseHeader('Authorization: Bearer $TOKEN', { TOKEN: 't1' }), ['Authorization', 'Bearer t1']);
    assert.deepEqual(parseHeader('X-Key: ${A}-${B}$$', { A: 'a', B: 'b' }), ['X-Key', 'a-b$']);
  });

  it('a header error never shows the value', () => {
    try {
      parseHeader('Authorization: Bearer hunter2 $NOPE', {});
      assert.fail('expected an error');
    } catch (error) {
      assert.match(String(error), /\$NOPE/);
      assert.doesNotMatch(String(error), /hunter2/);
    }
  });

  it('a bad option exits 2 with a message naming it, before any request', async () => {
    const api = fakeApi(10);
    const stderr = memoryStream();
    const code = await runHarvestCommand([URL_OK, '--rate', 'fast'], { fetch: api.fetch, stderr, stdout: memoryStream(), env: {} });
    assert.equal(code, 2);
    assert.match(stderr.text(), /--rate/);
    assert.equal(api.requests.length, 0);
  });
});
