import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startMockApi } from '../../src/http/mock/index.js';
import { ConfigError } from '../../src/core/errors.js';
import { getJson, runMockCli } from './mock-helpers.js';

const run = runMockCli;

describe('sluice mock', () => {
  it('starts, prints its URL and endpoints, serves, and stops cleanly', async () => {
    let statuses: number[] = [];
    const { code, out } = await run(['--rate', '2/1m', '--headers', 'x', '--records', '50'], async (mock) => {
      statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await getJson(`${mock.url}/records?limit=10`)).status);
    });
    assert.equal(code, 0);
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.match(out, /sluice mock listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /\/records\/cursor/);
    assert.match(out, /\/v1\/chat\/completions/);
    assert.match(out, /stopped/);
  });

  const bad: [string[], RegExp][] = [
    [['--rate', 'fast'], /--rate/],
    [['--rate', '10/1m', '--rate', '5/0s'], /--rate/],
    [['--headers', 'json'], /--headers/],
    [['--latency', '1s-x'], /--latency/],
    [['--faults', '5xx=2'], /--faults/],
    [['--port', 'eighty'], /--port/],
    [['--records', '-5'], /--records/],
    [['--time-scale', '0'], /--time-scale/],
    [['--bogus'], /--bogus/],
    [['--rate'], /--rate/],
    [['extra'], /options only/],
  ];
  for (const [argv, message] of bad) {
    it(`exits 2 naming the option: ${argv.join(' ')}`, async () => {
      const { code, err } = await run(argv);
      assert.equal(code, 2);
      assert.match(err, message);
    });
  }

  it('--help prints usage and exits 0', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /usage: sluice mock/);
  });
});

describe('startMockApi options', () => {
  it('refuses bad options with a ConfigError naming the field', async () => {
    const cases: [Parameters<typeof startMockApi>[0], string][] = [
      [{ limits: ['10/1s', 'often'] }, 'limits[1]'],
      [{ headers: 'json' as never }, 'headers'],
      [{ timeScale: -1 }, 'timeScale'],
      [{ pageSize: 50, maxPageSize: 10 }, 'pageSize'],
      [{ chat: { tokens: '0/1m' } }, 'chat.tokens'],
      [{ limits: { rate: '1/s', name: 'has"quote' } }, 'limits.name'],
      [{ faults: { '5xx': 0.6, hang: 0.6 } }, 'faults'],
    ];
    for (const [options, field] of cases) {
      await assert.rejects(startMockApi(options), (e: unknown) => e instanceof ConfigError && e.field === field, field);
    }
  });
});
