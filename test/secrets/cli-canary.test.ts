// The canary over the CLI: `sluice harvest` and `sluice mock` run as a user runs them, with
// the canary in URL userinfo, query (snake and camel case), headers from the environment
// and a Redis URL, failing in each way a user meets first; stdout, stderr and every file
// the harvest writes (output, state, failed pages, report) are read for it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockApi, type MockApi } from '../../src/http/mock/index.js';
import { tempDir } from '../harvest/helpers.js';
import { runCli, type CliRun } from '../harvest/spawn-cli.js';
import { skipRedis } from '../store/redis/redis-available.js';
import { CANARY, assertNoCanary } from './canary.js';

const env = { CANARY };
const headers = ['--header', 'Authorization: Bearer $CANARY', '--header', 'X-Api-Key: ${CANARY}', '--header', 'Cookie: sid=$CANARY'];
const secretQuery = `api_key=${CANARY}&accessToken=${CANARY}&clientSecret=${CANARY}`;

/** stdout, stderr, and each file the harvest wrote beside `out` (and the report), by name. */
function shown(run: CliRun, out?: string, report?: string): Record<string, string> {
  const texts: Record<string, string> = { stdout: run.stdout, stderr: run.stderr };
  for (const [name, path] of [
    ['output', out],
    ['state', out && `${out}.state.json`],
    ['failed pages', out && `${out}.failed.ndjson`],
    ['report', report],
  ] as const) {
    if (path !== undefined && existsSync(path)) texts[name] = readFileSync(path, 'utf8');
  }
  return texts;
}

describe('canary: the CLI', () => {
  let mock: MockApi;
  before(async () => {
    mock = await startMockApi({ records: 200, limits: '6000/1m', pageSize: 20, faults: '5xx=0.5', seed: 5 });
  });
  after(() => mock.close());

  it('sluice harvest: a bad template, a bad option and an unknown command exit 2 and show no secret', async () => {
    const host = new URL(mock.url).host;
    const runs = await Promise.all([
      runCli(['harvest', `http://alice:${CANARY}@${host}/records?offset={ofset}&${secretQuery}`, ...headers], { env }),
      runCli(['harvest', `${mock.url}/records?offset={offset}&${secretQuery}`, '--rate', `Bearer ${CANARY}`, ...headers], { env }),
      runCli(['harvest', `${mock.url}/records?offset={offset}`, '--header', 'Authorization: Bearer $BROKEN'], { env: { BROKEN: `${CANARY}\r\nX-Injected: 1` } }),
      runCli(['harvest', `${mock.url}/records?offset={offset}`, '--redis', `redis://default:${CANARY}@127.0.0.1:6379`], { env }),
      runCli([`https://alice:${CANARY}@api.test/items?${secretQuery}`], { env }),
    ]);
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, `run ${i}: ${run.stderr}`);
      assertNoCanary(`usage error ${i}`, shown(run));
    }
  });

  it('sluice harvest: pages failing on the server and a server that is not there show no secret anywhere', async () => {
    const host = new URL(mock.url).host;
    const dir = tempDir();
    const cases = [
      { template: `http://alice:${CANARY}@${host}/records?offset={offset}&limit={limit}&${secretQuery}`, out: join(dir, 'faults.ndjson') },
      { template: `http://alice:${CANARY}@127.0.0.1:${await closedPort()}/records?offset={offset}&${secretQuery}`, out: join(dir, 'down.ndjson') },
    ];
    for (const { template, out } of cases) {
      const report = `${out}.html`;
      const run = await runCli(['harvest', template, ...headers, '--retries', '0', '--page-size', '20', '--out', out, '--report', report, '--json'], { env });
      assert.equal(run.code, 3, `${out}: ${run.stderr}`);
      const texts = shown(run, out, report);
      assert.ok('state' in texts && 'report' in texts, `the harvest wrote its state and report: ${Object.keys(texts).join(', ')}`);
      assertNoCanary(`harvest of ${out}`, texts);
    }
  });

  it('sluice harvest --redis with the password in the URL: the run, its state and its report show no secret', { skip: skipRedis }, async () => {
    const out = join(tempDir(), 'shared.ndjson');
    const report = `${out}.html`;
    const clean = await startMockApi({ records: 40, limits: '6000/1m', pageSize: 20 });
    try {
      const key = `canary-${process.pid}-${Date.now()}`;
      const args = ['harvest', `${clean.url}/records?offset={offset}&limit={limit}&${secretQuery}`, ...headers, '--rate', '600/1m', '--redis', `redis://default:${CANARY}@127.0.0.1:6379`, '--key', key];
      const run = await runCli([...args, '--out', out, '--report', report, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assertNoCanary('harvest --redis', shown(run, out, report));
    } finally {
      await clean.close();
    }
  });

  it('sluice mock: bad options show no secret', async () => {
    const runs = await Promise.all([
      runCli(['mock', '--per-key', `Bearer ${CANARY}`]),
      runCli(['mock', '--rate', `https://alice:${CANARY}@api.test/`]),
      runCli(['mock', `api_key=${CANARY}`]),
    ]);
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, `run ${i}: ${run.stderr}`);
      assertNoCanary(`sluice mock ${i}`, shown(run));
    }
  });
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
