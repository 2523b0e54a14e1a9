import type { HarvestMonitor } from './monitor.js';

/** nullMonitor: a HarvestMonitor that ignores everything, for a harvest nobody watches (and for tests). */
export const nullMonitor: HarvestMonitor = {
  requestStarted() {},
  responseReceived() {},
  requestFailed() {},
  retryScheduled() {},
  pageDone() {},
  pageFailed() {},
  pauseStarted() {},
  pauseEnded() {},
  concurrency() {},
  rateLimit() {},
  totals() {},
};
