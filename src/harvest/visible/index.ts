// The visible side of `sluice harvest`: the recorder the engine reports to, the live
// progress line, the end-of-run summary (text and --json) and the HTML report.
export { HarvestRecorder, type HarvestRecorderOptions } from './recorder.js';
export { startProgress, type ProgressOptions, type ProgressStream } from './progress.js';
export { formatSummary, summaryJson, type HarvestSummaryJson, type SummaryMeta } from './summary.js';
export { renderReport, type ReportInput } from './report.js';
export { gapLines } from './gaps.js';
