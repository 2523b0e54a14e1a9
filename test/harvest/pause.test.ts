import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { Harvest } from '../../src/harvest/engine.js';
import { drive } from '../flow/helpers.js';
import { configOf, expectedNdjson, fakeApi, memoryStream, ORIGIN, recordingMonitor } from './helpers.js';

async function runOnClock(args: string[], api: ReturnType<typeof fakeApi>) {
  const clock = new ManualClock();
  const stdout = memoryStream();
  const monitor = recordingMonitor();
  const harvest = await Harvest.open(configOf(args), { fetch: api.fetch, stdout, clock });
  const outcome = await drive(clock, harvest.run(monitor));
  return { outcome, monitor, clock, text: stdout.text() };
}

describe('harvest on a ManualClock', () => {
  it('a quota exhausted for two minutes pauses the whole harvest once, with its end, instead of failing pages', async () => {
    const api = fakeApi(40, (_url, n) => (n === 2 ? { status: 429, headers: { 'retry-after': '120' }, body: { error: 'quota' } } : undefined));
    const { outcome, monitor, clock, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1'], api);
    assert.equal(text, expectedNdjson(40));
    assert.deepEqual(outcome.failed, []);
    const started = monitor.calls.filter(([m]) => m === 'pauseStarted').map(([, a]) => a as [number, number, string]);
    assert.equal(started.length, 1);
    assert.equal(started[0]![1] - started[0]![0], 120_000);
    assert.match(started[0]![2], /quota exhausted/);
    assert.ok(monitor.count('pauseEnded') >= 1);
    assert.ok(clock.now() >= 120_000);
  });

  it('a 429 with no hint, still refused after the retries, waits 1 s, 2 s… instead of failing the page', async () => {
    const api = fakeApi(20, (_url, n) => (n >= 2 && n <= 5 ? { status: 429 } : undefined));
    const { outcome, monitor, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--retries', '1'], api);
    assert.equal(text, expectedNdjson(20));
    assert.deepEqual(outcome.failed, []);
    const waits = monitor.calls.filter(([m]) => m === 'pauseStarted').map(([, a]) => Math.round((a as number[])[1]! - (a as number[])[0]!));
    assert.deepEqual(waits, [1000, 2000]);
  });

  it('a 503 fault carrying rate-limit headers is retried at once, not taken as a pause until their reset', async () => {
    const api = fakeApi(20, (_url, n) => (n === 2 ? { status: 503, headers: { 'ratelimit-policy': '"m";q=100;w=60', ratelimit: '"m";r=50;t=55' } } : undefined));
    const { outcome, monitor, clock } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10'], api);
    assert.deepEqual(outcome.failed, []);
    assert.equal(monitor.count('pauseStarted'), 0);
    assert.ok(clock.now() < 5000, `waited ${clock.now()} ms`);
  });

  it('retries a 503 and a cut-short body with backoff, and reports each attempt and retry', async () => {
    const api = fakeApi(30, (_url, n) => (n === 2 ? { status: 503 } : n === 3 ? { raw: '{"count": 30, "results": [' } : undefined));
    const { outcome, monitor, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1'], api);
    assert.equal(text, expectedNdjson(30));
    assert.deepEqual(outcome.failed, []);
    assert.equal(monitor.count('requestStarted'), 5);
    assert.equal(monitor.count('retryScheduled'), 2);
    assert.equal(monitor.count('requestFailed'), 1); // the bad body
    assert.equal(monitor.count('pageDone'), 3);
    const totals = monitor.calls.find(([m]) => m === 'totals')!;
    assert.deepEqual(totals[1][1], { pages: 3, records: 30 });
  });

  it('a page still failing after --retries is reported failed and the harvest goes on', async () => {
    const api = fakeApi(30, (url) => (url.searchParams.get('offset') === '10' ? { status: 500 } : undefined));
    const { outcome, monitor, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--retries', '2'], api);
    assert.equal(text, expectedNdjson(10) + expectedNdjson(30).split('\n').slice(20).join('\n'));
    assert.equal(outcome.failed.length, 1);
    assert.equal(api.requests.filter((u) => u.includes('offset=10')).length, 3);
    assert.equal(monitor.count('pageFailed'), 1);
  });

  it('--rate paces the requests: 30 pages at 10/s take about 2.9 s of clock time', async () => {
    const api = fakeApi(300);
    const { clock, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--rate', '10/s', '--no-adapt'], api);
    assert.equal(text, expectedNdjson(300));
    assert.ok(clock.now() >= 2800, `took ${clock.now()} ms`);
    assert.ok(clock.now() < 3100, `took ${clock.now()} ms`);
  });
});
