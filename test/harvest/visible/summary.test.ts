import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSummary, summaryJson } from '../../../src/harvest/visible/index.js';
import { finishedSnapshot } from './snapshot-fixture.js';

describe('formatSummary', () => {
  it('a clean run: records, pages, time, achieved rate, quota used, latency, 429s, retries, no failures', () => {
    assert.equal(
      formatSummary(finishedSnapshot({ averageRate: 19.75 }), { out: 'items.ndjson' }),
      [
        'harvest done in 4m12s',
        '  records     500,000, 120 MB → items.ndjson',
        '  pages       5,000',
        '  time        4m12s',
        '  rate        19.8 requests/s, 1,984 records/s (5,040 requests)',
        '  quota used  99% of 20/s',
        '  latency     p50 412ms, p95 1.23s',
        '  429s        40',
        '  retries     40',
        '  failures    none',
        '',
      ].join('\n'),
    );
  });

  it('a run that did not finish never reads "done": interrupted or stopped, with how long it ran', () => {
    assert.match(formatSummary(finishedSnapshot({}), { ended: 'interrupted' }), /^harvest interrupted after 4m12s\n/);
    assert.match(formatSummary(finishedSnapshot({ failedPages: 1 }), { ended: 'stopped' }), /^harvest stopped after 4m12s\n/);
  });

  it('a resumed run with failures, pauses and network errors says so, pointing to the failed file', () => {
    const text = formatSummary(
      finishedSnapshot({ resumedRecords: 120_000, resumedPages: 1_200, failedPages: 3, networkErrors: 7, pausedMs: 62_000, rateLimit: undefined }),
      { out: 'items.ndjson', failedFile: 'items.ndjson.failed.ndjson' },
    );
    assert.match(text, /^harvest finished in 4m12s with 3 failed pages\n/);
    // Labels are padded to the longest one, here "no response".
    assert.match(text, /\n {2}records {6}500,000 \(380,000 this run, 120,000 resumed\), 120 MB → items\.ndjson\n/);
    assert.match(text, /\n {2}pages {8}5,000 \(3,800 this run, 1,200 resumed\)\n/);
    assert.match(text, /\n {2}quota used {3}no limit known\n/);
    assert.match(text, /\n {2}no response {2}7 attempts/);
    assert.match(text, /\n {2}paused {7}1m02s waiting for the quota to reset\n/);
    assert.match(text, /\n {2}failures {5}3 pages → items\.ndjson\.failed\.ndjson \(--retry-failed runs them again\)\n$/);
  });

  it('to stdout, with no response yet: no arrow and no latency line', () => {
    const text = formatSummary(finishedSnapshot({ latencyP50Ms: undefined, latencyP95Ms: undefined }), {});
    assert.doesNotMatch(text, /→/);
    assert.doesNotMatch(text, /latency/);
  });
});

describe('summaryJson', () => {
  it('has the documented shape, with rounded rates and latencies', () => {
    assert.deepEqual(summaryJson(finishedSnapshot(), { out: 'items.ndjson', failedFile: 'items.ndjson.failed.ndjson' }), {
      schema: 'sluice.harvest.summary/1',
      ok: true,
      incomplete: [],
      elapsedMs: 252_000,
      out: 'items.ndjson',
      failedFile: null,
      records: { total: 500_000, resumed: 0, thisRun: 500_000, perSecond: 1_984.13 },
      pages: { total: 5_000, resumed: 0, thisRun: 5_000, failed: 0 },
      bytes: 120 * 1024 * 1024,
      requests: { total: 5_040, perSecond: 20, throttled: 40, networkErrors: 0, retries: 40, statuses: { '200': 5_000, '429': 40 } },
      rateLimit: { perSecond: 20, usedPercent: 100 },
      concurrencyLimit: 16,
      latencyMs: { p50: 412.3, p95: 1_230.1 },
      pausedMs: 0,
    });
  });

  it('unknown values are null, never missing, so every key survives JSON.stringify', () => {
    const json = summaryJson(
      finishedSnapshot({ rateLimit: undefined, latencyP50Ms: undefined, latencyP95Ms: undefined, failedPages: 2 }),
      {},
    );
    const parsed = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
    assert.deepEqual(parsed, JSON.parse(JSON.stringify({ ...json })));
    assert.equal(json.ok, false);
    assert.equal(json.out, null);
    assert.equal(json.failedFile, null);
    assert.deepEqual(json.rateLimit, { perSecond: null, usedPercent: null });
    assert.deepEqual(json.latencyMs, { p50: null, p95: null });
    assert.deepEqual(Object.keys(parsed), Object.keys(summaryJson(finishedSnapshot(), {})));
  });

  it('names the failed file only when pages failed, and splits resumed from this run', () => {
    const json = summaryJson(finishedSnapshot({ failedPages: 1, resumedRecords: 100, resumedPages: 1 }), { failedFile: 'f.ndjson' });
    assert.equal(json.failedFile, 'f.ndjson');
    assert.deepEqual(json.records, { total: 500_000, resumed: 100, thisRun: 499_900, perSecond: 1_984.13 });
    assert.deepEqual(json.pages, { total: 5_000, resumed: 1, thisRun: 4_999, failed: 1 });
  });
});
