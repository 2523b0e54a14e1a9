/** REPORT_CSS: the report's styles; system fonts only, so nothing is fetched. */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8fafc; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.source { margin: 0 0 20px; color: var(--muted); overflow-wrap: anywhere; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--ink); }
.chart { position: relative; margin: 0 0 16px; padding: 12px 14px 6px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.chart figcaption { font-weight: 600; margin-bottom: 2px; }
.chart svg { display: block; width: 100%; height: auto; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; color: var(--muted); font-size: 12px; margin-bottom: 2px; }
.key { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid; }
.swatch.dashed { border-top-style: dashed; }
.swatch.pause { height: 10px; border: 0; background: rgba(148, 163, 184, 0.35); }
.series { stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
.series.bars { stroke: none; opacity: 0.85; }
.pause { fill: rgba(148, 163, 184, 0.25); }
.grid { stroke: var(--line); }
.axis { stroke: #9ca3af; }
.rule { stroke: #9ca3af; stroke-dasharray: 2 3; }
.ylab { font-size: 11px; fill: var(--muted); text-anchor: end; }
.xlab { font-size: 11px; fill: var(--muted); text-anchor: middle; }
.empty { font-size: 13px; fill: var(--muted); text-anchor: middle; }
.tip { position: absolute; top: 44px; pointer-events: none; background: rgba(17, 24, 39, 0.92); color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 6px; white-space: nowrap; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; margin-top: 8px; }
.tables > div { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px 4px 0; border-top: 1px solid var(--line); }
th { font-weight: 500; color: var(--muted); white-space: nowrap; width: 1%; }
td { overflow-wrap: anywhere; }
.unset { color: var(--muted); font-style: italic; }
footer { margin-top: 20px; color: var(--muted); font-size: 12px; }
`;
