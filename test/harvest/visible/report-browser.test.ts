// The report in a real browser: Debian's Chromium driven by playwright-core. It proves
// what a string test cannot: the page runs without errors, fetches nothing, and each
// chart actually drew its series. Skipped (with the reason) where Chromium is missing,
// except under CI=true, where a missing browser is a failure rather than a silent pass.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { renderReport, type ReportInput } from '../../../src/harvest/visible/index.js';
import { reportData } from '../../../src/harvest/visible/report-data.js';
import { sampleRun } from './sample-run.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/sluice-harvest-report.png';
const EVIL = '</script><script>alert(1)</script>';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found; install Debian's chromium to run the report's browser test`;

interface Visit {
  page: Page;
  problems: string[];
  requests: string[];
  url: string;
}

if (missing && process.env.CI === 'true') {
  it('the report browser test needs Chromium under CI', () => assert.fail(missing));
} else if (missing) {
  it('HTML report in headless Chromium', { skip: missing }, () => {});
} else {
  describe('HTML report in headless Chromium', () => {
    let browser: Browser;
    let dir: string;

    before(async () => {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      dir = mkdtempSync(join(tmpdir(), 'sluice-report-'));
    });

    after(async () => {
      await browser?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Opens a report and records every console error, page error, dialog and request. */
    async function visit(name: string, input: ReportInput): Promise<Visit> {
      const file = join(dir, name);
      writeFileSync(file, renderReport(input));
      const url = pathToFileURL(file).href;
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(url, { waitUntil: 'load' });
      return { page, problems, requests, url };
    }

    async function sampleInput(): Promise<ReportInput> {
      const { clock, recorder } = await sampleRun();
      // Past the last request, so the run ends with a quiet stretch like a real one.
      await clock.advance(3_000);
      return {
        title: `Harvest of api.example ${EVIL}`,
        source: 'https://api.example/items?offset={offset}&limit={limit}',
        options: { rate: '20/1s', concurrency: 'auto', out: 'items.ndjson', retries: 5, quiet: false, redis: undefined, note: EVIL },
        snapshot: recorder.snapshot(),
        timeline: recorder.timeline(),
      };
    }

    it('loads with no error, fetches nothing but itself, and every chart draws every series', async () => {
      const input = await sampleInput();
      const { page, problems, requests, url } = await visit('report.html', input);
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [url]);

      const expected = reportData(input.timeline, input.snapshot).charts.map((chart) => ({
        id: chart.id,
        series: chart.series.map((s) => ({
          name: s.name,
          points: s.values.filter((v) => v !== null && (s.kind !== 'bars' || v > 0)).length,
        })),
      }));
      const drawn = await page.$$eval('figure.chart', (figures) =>
        figures.map((f) => ({
          id: f.id.replace('chart-', ''),
          series: [...f.querySelectorAll('path.series')].map((p) => ({ name: p.getAttribute('data-series'), points: Number(p.getAttribute('data-points')) })),
        })),
      );
      assert.deepEqual(drawn, expected);
      for (const chart of expected) for (const s of chart.series) assert.ok(s.points > 0, `${chart.id} / ${s.name} drew nothing`);

      // The path data really has those points: one M/L command per point on a line.
      const lineCommands = await page.$eval('#chart-rate path[data-series="requests/s"]', (p) => (p.getAttribute('d')!.match(/[ML]/g) ?? []).length);
      assert.equal(lineCommands, expected[0]!.series[0]!.points);
      // Pauses are shaded on every chart.
      assert.equal(await page.locator('rect.pause').count(), 4);
      // Rendered size, not just elements: each chart's svg has a real box.
      const boxes = await page.$$eval('figure.chart svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().height));
      assert.ok(boxes.length === 4 && boxes.every((h) => h > 100), `svg heights ${boxes}`);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await page.close();
    });

    it('markup in a title or option shows as text and runs nothing', async () => {
      const { page, problems } = await visit('evil.html', await sampleInput());
      assert.deepEqual(problems, []);
      assert.equal(await page.title(), `Harvest of api.example ${EVIL}`);
      assert.equal(await page.locator('td', { hasText: 'alert(1)' }).first().textContent(), EVIL);
      assert.equal(await page.locator('script').count(), 2);
      await page.close();
    });

    it('hovering a chart shows the values of the bucket under the pointer', async () => {
      const { page, problems } = await visit('hover.html', await sampleInput());
      const svg = page.locator('#chart-rate svg');
      const box = (await svg.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
      const tip = page.locator('#chart-rate .tip');
      assert.equal(await tip.isVisible(), true);
      assert.match((await tip.textContent())!, /requests\/s: [\d.]+\/s.*rate limit: 20\/s/);
      await page.mouse.move(box.x + 2, box.y + 2);
      assert.equal(await tip.isVisible(), false, 'off the plot area the readout hides');
      assert.deepEqual(problems, []);
      await page.close();
    });

    it('a report with no timeline still loads and says there is no data', async () => {
      const { recorder } = await sampleRun();
      const { page, problems } = await visit('empty.html', { title: 'Empty', source: 'https://api.example/', options: {}, snapshot: recorder.snapshot(), timeline: [] });
      assert.deepEqual(problems, []);
      assert.equal(await page.locator('text.empty').count(), 4);
      await page.close();
    });
  });
}
