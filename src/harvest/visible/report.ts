import type { HarvestSnapshot, TimelinePoint } from '../monitor.js';
import { formatCount } from './format.js';
import { escapeHtml, jsonForScript } from './html.js';
import { reportData } from './report-data.js';
import { CHART_SCRIPT } from './report-script.js';
import { REPORT_CSS } from './report-style.js';
import { summaryRows } from './summary.js';

export interface ReportInput {
  title: string;
  /** The harvested URL (template), already redacted: the report shows it as given. */
  source: string;
  /** The options the run used; undefined shows as "not set". */
  options: Record<string, string | number | boolean | undefined>;
  snapshot: HarvestSnapshot;
  timeline: TimelinePoint[];
  /** A source's resources (`--config`), a row each; the charts and summary are the whole source's, one budget for all. */
  resources?: ReadonlyArray<ReportResource> | undefined;
}

/** One resource of a source as the report shows it. */
export interface ReportResource {
  name: string;
  records: number;
  pages: number;
  /** Records this run committed. */
  added: number;
  /** What is known missing; empty when the resource is whole. */
  incomplete: readonly string[];
  complete: boolean;
}

// Nothing may load from anywhere: scripts and styles are inline, the icon is empty.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/**
 * renderReport: one self-contained HTML file (the `--report` output). Charts of
 * requests/s against the limit, concurrency, latency p50/p95 and 429s/errors over time,
 * with pauses shaded, then the summary and the options. Every interpolated string is
 * HTML-escaped and the chart data sits in a JSON script element with `<` escaped, so
 * no value can inject markup or end the script. A content security policy forbids any
 * fetch, and nothing is shown that was not passed in (no clock, no host name).
 */
export function renderReport(input: ReportInput): string {
  const data = reportData(input.timeline, input.snapshot);
  const figures = data.charts
    .map((c) => `<figure class="chart" id="chart-${escapeHtml(c.id)}"><figcaption>${escapeHtml(c.title)}</figcaption></figure>`)
    .join('\n');
  const summary = summaryRows(input.snapshot, {});
  const statuses = Object.entries(input.snapshot.statuses);
  if (statuses.length > 0) summary.push(['responses', statuses.map(([code, n]) => `${code} × ${formatCount(n)}`).join(', ')]);
  const options = Object.entries(input.options).map(([name, value]): [string, string | undefined] => [name, value === undefined ? undefined : String(value)]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(input.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(input.title)}</h1>
<p class="source">source <code>${escapeHtml(input.source)}</code></p>
${figures}
<noscript><p>The charts need JavaScript; the tables below do not.</p></noscript>
<section class="tables">
${input.resources === undefined ? '' : `<div><h2>Resources</h2>${table(input.resources.map(resourceRow))}</div>\n`}<div><h2>Summary</h2>${table(summary)}</div>
<div><h2>Options</h2>${table(options)}</div>
</section>
<footer>sluice harvest report</footer>
</main>
<script type="application/json" id="harvest-data">${jsonForScript(data)}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}

function resourceRow(r: ReportResource): [string, string] {
  const state = r.incomplete.length > 0 ? `incomplete: ${r.incomplete.join('; ')}` : r.complete ? 'complete' : 'left for the next run';
  return [r.name, `${formatCount(r.records)} records in ${formatCount(r.pages)} pages (+${formatCount(r.added)} this run); ${state}`];
}

function table(rows: ReadonlyArray<readonly [string, string | undefined]>): string {
  if (rows.length === 0) return '<p class="unset">none</p>';
  const body = rows
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${value === undefined ? '<span class="unset">not set</span>' : escapeHtml(value)}</td></tr>`)
    .join('\n');
  return `<table>\n${body}\n</table>`;
}
