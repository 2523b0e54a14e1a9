import type { HarvestSnapshot } from '../../../src/harvest/monitor.js';

/** A finished run's snapshot with round figures; tests override what they look at. */
export function finishedSnapshot(overrides: Partial<HarvestSnapshot> = {}): HarvestSnapshot {
  return {
    elapsedMs: 252_000,
    records: 500_000,
    pages: 5_000,
    resumedRecords: 0,
    resumedPages: 0,
    bytes: 120 * 1024 * 1024,
    requests: 5_040,
    statuses: { '200': 5_000, '429': 40 },
    throttled: 40,
    networkErrors: 0,
    retries: 40,
    failedPages: 0,
    recentRate: 19.9,
    averageRate: 20,
    recordRate: 1_984.127,
    rateLimit: 20,
    concurrencyLimit: 16,
    inFlight: 0,
    latencyP50Ms: 412.34,
    latencyP95Ms: 1_230.06,
    totalPages: 5_000,
    totalRecords: 500_000,
    etaMs: 0,
    pausedUntil: undefined,
    pausedMs: 0,
    ...overrides,
  };
}
