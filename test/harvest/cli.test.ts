import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordAt, startMockApi, type MockApi } from '../../src/http/mock/index.js';
import { tempDir } from './helpers.js';
import { runCli } from './spawn-cli.js';
import { REDIS_URL, skipRedis } from '../store/redis/redis-available.js';

const CANARY = 'canary-9f1b2c3d4e5f';

describe('sluice harvest (CLI, against the mock)', () => {
  let mock: MockApi;
  before(async () => {
    mock = await startMockApi({ records: 400, seed: 3, limits: '3000/1m', headers: 'ietf', latency: '0ms-10ms', faults: '5xx=0.05,malformed=0.02', pageSize: 20 });
  });
  after(async () => {
    await mock.close();
  });

  it('harvests every record in order, within the limit, with a report and a --json summary; exit 0', async () => {
    const dir = tempDir();
    const out = join(dir, 'records.ndjson');
    const run = await runCli(['harvest', `${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', '25', '--rate', '3000/1m', '--out', out, '--report', join(dir, 'r.html'), '--json', '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const ids = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { id: number });
    assert.deepEqual(ids.map((r) => r.id), Array.from({ length: 400 }, (_, i) => i + 1));
    assert.deepEqual(ids[7], recordAt(3, 8));
    const summary = JSON.parse(run.stdout) as { ok: boolean; records: { total: number } };
    assert.equal(summary.ok, true);
    assert.equal(summary.records.total, 400);
    assert.match(readFileSync(join(dir, 'r.html'), 'utf8'), /<html/i);
    assert.equal(mock.stats().violations.total, 0);
  });

  it('--redis --key keeps the limit in Redis: two harvests at once stay within one 1,000/min between them', { skip: skipRedis }, async () => {
    const strict = await startMockApi({ records: 400, limits: '20/1s', headers: 'none' });
    try {
      const key = `harvest-test-${process.pid}-${Date.now()}`;
      const runs = await Promise.all(
        [0, 1].map((i) =>
          runCli(['harvest', `${strict.url}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--rate', '1000/1m', '--no-adapt', '--redis', REDIS_URL, '--key', key, '--out', join(tempDir(), `r${i}.ndjson`), '--quiet']),
        ),
      );
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      // Alone, each would send 16.7/s and together break the mock's 20/s.
      assert.equal(strict.stats().violations.total, 0);
      assert.equal(strict.stats().requests, 80);
    } finally {
      await strict.close();
    }
  });

  it('a bad template exits 2, names it, and sends no request', async () => {
    const before = mock.stats().requests;
    const run = await runCli(['harvest', `${mock.url}/records?offset={ofset}`, '--out', join(tempDir(), 'x.ndjson')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /<url-template>: has an unknown placeholder \{ofset\}/);
    assert.equal(mock.stats().requests, before);
  });

  it('canary: a secret in headers, URL credentials and the query appears in no output, state, failed file, report, stdout or stderr', async () => {
    const dir = tempDir();
    const out = join(dir, 'records.ndjson');
    const report = join(dir, 'report.html');
    const base = new URL(mock.url);
    const template = `http://user:${CANARY}@${base.host}/records?offset={offset}&limit={limit}&api_key=${CANARY}`;
    const args = ['harvest', template, '--header', 'Authorization: Bearer $CANARY', '--header', 'X-Api-Key: ${CANARY}', '--retries', '0', '--page-size', '10', '--out', out, '--report', report];
    const failing = await runCli(args, { env: { CANARY } });
    const resumed = await runCli([...args, '--retry-failed', '--json'], { env: { CANARY } });
    const encoded = Buffer.from(`user:${CANARY}`).toString('base64');
    assert.equal(failing.code, 3, 'with 5% faults and no retries some page fails (exit 3, incomplete)');
    assert.ok(existsSync(`${out}.state.json`));
    const texts: Record<string, string> = {
      stdout: failing.stdout + resumed.stdout,
      stderr: failing.stderr + resumed.stderr,
      output: readFileSync(out, 'utf8'),
      state: readFileSync(`${out}.state.json`, 'utf8'),
      report: readFileSync(report, 'utf8'),
    };
    if (existsSync(`${out}.failed.ndjson`)) texts.failed = readFileSync(`${out}.failed.ndjson`, 'utf8');
    assert.ok(failing.stderr.includes('failed'), 'the first run reports failed pages');
    for (const [name, text] of Object.entries(texts)) {
      assert.equal(text.includes(CANARY), false, `the canary leaked into ${name}`);
      assert.equal(text.includes(encoded), false, `the Basic credentials leaked into ${name}`);
    }
    assert.match(texts.state!, /api_key=\[redacted\]/);
  });
});
