import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TimelinePoint } from '../../../src/harvest/monitor.js';
import { escapeHtml, jsonForScript } from '../../../src/harvest/visible/html.js';
import { renderReport } from '../../../src/harvest/visible/index.js';
import { reportData } from '../../../src/harvest/visible/report-data.js';
import { sampleRun } from './sample-run.js';
import { finishedSnapshot } from './snapshot-fixture.js';

const EVIL = '</script><script>alert(1)</script>';
const EVIL_ATTR = '"><img src=x onerror=alert(2)>';

function point(atMs: number, overrides: Partial<TimelinePoint> = {}): TimelinePoint {
  return {
    atMs, requests: 0, throttled: 0, errors: 0, records: 0, rateLimit: undefined, concurrencyLimit: 0,
    inFlight: 0, latencyP50Ms: undefined, latencyP95Ms: undefined, paused: false, ...overrides,
  };
}

/** The JSON inside <script id="harvest-data">, as the browser would read it. */
function embeddedData(html: string): unknown {
  const match = /<script type="application\/json" id="harvest-data">([^<]*)<\/script>/.exec(html);
  assert.ok(match, 'the data element is there and holds no "<"');
  return JSON.parse(match[1]!);
}

describe('renderReport escaping', () => {
  it('a title, source or option holding markup stays text: no element can be injected', async () => {
    const { recorder } = await sampleRun();
    const html = renderReport({
      title: `Report ${EVIL}`,
      source: `https://api.example/items?q=${EVIL_ATTR}`,
      options: { [EVIL_ATTR]: EVIL, header: `X: ${EVIL}` },
      snapshot: recorder.snapshot(),
      timeline: recorder.timeline(),
    });
    assert.equal(html.match(/<script/gi)?.length, 2, 'the data element and the chart script, nothing else');
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /alert\(1\)<\/script>/);
    assert.ok(html.includes(escapeHtml(EVIL)));
    assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
  });

  it('jsonForScript: for any value, no character that could end the script, and JSON.parse gives it back', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
        for (const v of [value, text, { text: `${text}</script><!--`, value }]) {
          const out = jsonForScript(v);
          assert.doesNotMatch(out, /[<>&\u2028\u2029]/);
          assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(v)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('escapeHtml covers both quote kinds, so attributes are safe either way', () => {
    assert.equal(escapeHtml(`<a href='x' title="y">&</a>`), '&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;');
  });
});

describe('renderReport content', () => {
  it('embeds exactly the chart data built from what was passed in, and renders the same bytes twice', async () => {
    const { recorder } = await sampleRun();
    const input = { title: 't', source: 's', options: {}, snapshot: recorder.snapshot(), timeline: recorder.timeline() };
    const html = renderReport(input);
    assert.deepEqual(embeddedData(html), JSON.parse(JSON.stringify(reportData(input.timeline, input.snapshot))));
    assert.equal(renderReport(input), html, 'no clock, no randomness: nothing that was not passed in');
  });

  it('is self-contained: a CSP that forbids fetching, and no src or href but the empty icon', () => {
    const html = renderReport({ title: 't', source: 'https://api.example/x', options: {}, snapshot: finishedSnapshot(), timeline: [point(0)] });
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    assert.deepEqual(html.match(/\b(?:src|href)=/gi), ['href=']);
    assert.match(html, /<link rel="icon" href="data:,">/);
  });

  it('shows the summary and every option, unset ones as "not set"', () => {
    const html = renderReport({
      title: 'Harvest',
      source: 'https://api.example/items',
      options: { rate: '20/1s', concurrency: 8, quiet: false, redis: undefined },
      snapshot: finishedSnapshot(),
      timeline: [],
    });
    assert.match(html, /<tr><th>quota used<\/th><td>100% of 20\/s<\/td><\/tr>/);
    assert.match(html, /<tr><th>responses<\/th><td>200 × 5,000, 429 × 40<\/td><\/tr>/);
    assert.match(html, /<tr><th>concurrency<\/th><td>8<\/td><\/tr>/);
    assert.match(html, /<tr><th>quiet<\/th><td>false<\/td><\/tr>/);
    assert.match(html, /<tr><th>redis<\/th><td><span class="unset">not set<\/span><\/td><\/tr>/);
    for (const id of ['rate', 'concurrency', 'latency', 'throttled']) assert.match(html, new RegExp(`<figure class="chart" id="chart-${id}">`));
  });
});

describe('reportData', () => {
  it('turns counts into per-second rates over the bucket width read from the spacing', () => {
    const data = reportData(
      [point(0, { requests: 40, throttled: 2, rateLimit: 20 }), point(2000, { requests: 30, errors: 4 }), point(4000, { requests: 9 })],
      finishedSnapshot({ elapsedMs: 5_500 }),
    );
    assert.deepEqual(data.starts, [0, 2, 4]);
    assert.equal(data.widthS, 2);
    assert.equal(data.endS, 5.5);
    const series = (chart: string, name: string) => data.charts.find((c) => c.id === chart)!.series.find((s) => s.name === name)!.values;
    assert.deepEqual(series('rate', 'requests/s'), [20, 15, 6], 'the last bucket is 1.5 s old: 9 / 1.5');
    assert.deepEqual(series('rate', 'rate limit'), [20, null, null]);
    assert.deepEqual(series('throttled', '429s'), [1, 0, 0]);
    assert.deepEqual(series('throttled', 'errors'), [0, 2, 0]);
  });

  it('a last bucket less than half elapsed is divided by the full width (no spike from a few ms)', () => {
    const data = reportData([point(0, { requests: 10 }), point(1000, { requests: 2 })], finishedSnapshot({ elapsedMs: 1_010 }));
    assert.deepEqual(data.charts[0]!.series[0]!.values, [10, 2]);
  });

  it('merges neighbouring paused buckets into one shaded stretch, cut at the end of the run', () => {
    const paused = { paused: true };
    const data = reportData(
      [point(0), point(1000, paused), point(2000, paused), point(3000), point(4000, paused)],
      finishedSnapshot({ elapsedMs: 4_200 }),
    );
    assert.deepEqual(data.pauses, [[1, 3], [4, 4.2]]);
  });

  it('an empty timeline is drawable: no buckets, charts with empty series', () => {
    const data = reportData([], finishedSnapshot({ elapsedMs: 0 }));
    assert.deepEqual(data.starts, []);
    assert.equal(data.charts.length, 4);
    assert.ok(data.charts.every((c) => c.series.every((s) => s.values.length === 0)));
  });
});
