import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { Harvest } from '../../src/harvest/engine.js';
import { drive } from '../flow/helpers.js';
import { configOf, expectedNdjson, fakeApi, memoryStream, ORIGIN, record, recordingMonitor } from './helpers.js';

async function runOnClock(args: string[], api: ReturnType<typeof fakeApi>) {
  const clock = new ManualClock();
  const stdout = memoryStream();
  const monitor = recordingMonitor();
  /** When each request was sent, clock ms, in order. */
  const sentAt: number[] = [];
  const fetch: typeof api.fetch = (input, init) => {
    sentAt.push(clock.now());
    return api.fetch(input, init);
  };
  const harvest = await Harvest.open(configOf(args), { fetch, stdout, clock });
  const outcome = await drive(clock, harvest.run(monitor));
  return { outcome, monitor, clock, sentAt, text: stdout.text() };
}

/** The pauses the monitor was told of: [length ms, reason]. */
function pausesOf(monitor: ReturnType<typeof recordingMonitor>): Array<[number, string]> {
  return monitor.calls.filter(([m]) => m === 'pauseStarted').map(([, a]) => [(a as number[])[1]! - (a as number[])[0]!, (a as string[])[2]!]);
}

const OFFSET = [`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1'];

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

  it('a 429 while the whole --rate is in use (uneven arrivals) makes that page wait its Retry-After alone: no pause for the others', async () => {
    const api = fakeApi(40, (_url, n) => (n === 25 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: 'rate' } } : undefined));
    const { outcome, monitor, sentAt, text } = await runOnClock([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '1', '--rate', '10/1s', '--concurrency', '4'], api);
    assert.equal(text, expectedNdjson(40));
    assert.deepEqual(outcome.failed, []);
    assert.equal(monitor.count('pauseStarted'), 0, 'the harvest never paused');
    const refused = api.requests[24]!;
    const again = api.requests.indexOf(refused, 25);
    assert.ok(sentAt[again]! - sentAt[24]! >= 1000, 'the refused page waited its Retry-After');
    assert.ok(sentAt[25]! - sentAt[24]! < 1000, 'the next page did not');
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

  describe('one owner of the wait a refusal names: the quota pause', () => {
    for (const [name, rate] of [['without --rate', []], ['under the adaptive rate', ['--rate', '10/s']]] as const) {
      it(`${name}: a 429 with Retry-After 5 is waited out once, for every page, and not retried as a fault`, async () => {
        const api = fakeApi(30, (_url, n) => (n === 2 ? { status: 429, headers: { 'retry-after': '5' } } : undefined));
        const { outcome, monitor, sentAt, text } = await runOnClock([...OFFSET, ...rate], api);
        assert.equal(text, expectedNdjson(30));
        assert.deepEqual(outcome.failed, []);
        assert.equal(monitor.count('retryScheduled'), 0);
        assert.deepEqual(pausesOf(monitor).map(([ms]) => ms), [5000]);
        assert.ok(sentAt[2]! - sentAt[1]! >= 5000, `asked again after ${sentAt[2]! - sentAt[1]!} ms`);
      });
    }

    it('under the adaptive rate, a Retry-After longer than its longest pause (a minute) is still waited out whole', async () => {
      const api = fakeApi(20, (_url, n) => (n === 2 ? { status: 429, headers: { 'retry-after': '120' } } : undefined));
      const { outcome, monitor, sentAt } = await runOnClock([...OFFSET, '--rate', '10/s'], api);
      assert.deepEqual(outcome.failed, []);
      assert.equal(Math.max(...pausesOf(monitor).map(([ms]) => ms)), 120_000);
      assert.ok(sentAt[2]! - sentAt[1]! >= 120_000, `asked again after ${sentAt[2]! - sentAt[1]!} ms`);
    });

    it('a 503 with Retry-After and a 403 with Retry-After (a secondary limit) pause the harvest and the page is asked again', async () => {
      const api = fakeApi(40, (_url, n) => (n === 2 ? { status: 503, headers: { 'retry-after': '2' } } : n === 4 ? { status: 403, headers: { 'retry-after': '30' } } : undefined));
      const { outcome, monitor, text } = await runOnClock(OFFSET, api);
      assert.equal(text, expectedNdjson(40));
      assert.deepEqual(outcome.failed, []);
      assert.equal(monitor.count('retryScheduled'), 0);
      assert.deepEqual(pausesOf(monitor).map(([ms]) => ms), [2000, 30_000]);
    });

    it('a 502 whose Retry-After is longer than the retry waits (30 s) pauses the harvest for it, and the page is asked again', async () => {
      const api = fakeApi(20, (_url, n) => (n === 2 ? { status: 502, headers: { 'retry-after': '120' } } : undefined));
      const { outcome, monitor, sentAt, text } = await runOnClock(OFFSET, api);
      assert.equal(text, expectedNdjson(20));
      assert.deepEqual(outcome.failed, []);
      assert.deepEqual(pausesOf(monitor).map(([ms]) => ms), [120_000]);
      assert.ok(sentAt[2]! - sentAt[1]! >= 120_000, `asked again after ${sentAt[2]! - sentAt[1]!} ms`);
    });

    it('a success with the quota at 0 pauses the harvest until the reset', async () => {
      const api = fakeApi(30, (url, n) => (n === 2 ? { body: { count: 30, results: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map(record) }, headers: { 'ratelimit-policy': '"m";q=100;w=60', ratelimit: '"m";r=0;t=10' } } : undefined));
      const { text, sentAt, monitor } = await runOnClock(OFFSET, api);
      assert.equal(text, expectedNdjson(30));
      assert.deepEqual(pausesOf(monitor).map(([ms]) => ms), [10_000]);
      assert.ok(sentAt[2]! - sentAt[1]! >= 10_000);
    });

    it('a page refused with a named wait more times than ten rounds of its attempts fails, naming the pauses', async () => {
      const api = fakeApi(30, (url) => (url.searchParams.get('offset') === '10' ? { status: 429, headers: { 'retry-after': '1' } } : undefined));
      const { outcome, text } = await runOnClock([...OFFSET, '--retries', '1'], api);
      assert.equal(api.requests.filter((u) => u.includes('offset=10')).length, 21); // (1 + 1) × 10 waits, then one refusal too many
      assert.equal(outcome.failed.length, 1);
      assert.match(outcome.failed[0]!.reason, /^still throttled after 20 quota pauses \(HTTP 429/);
      assert.equal(text, expectedNdjson(10) + expectedNdjson(30).split('\n').slice(20).join('\n'));
    });
  });
});
