// The mock API: importable for tests, demos and benchmarks; `sluice mock` runs it.
export { startMockApi, type MockApi } from './server.js';
export type { MockApiOptions, MockChatOptions, MockLimitInput } from './options.js';
export type { HeaderDialect } from './headers.js';
export type { LatencyInput, LatencyPhase, LatencySpec } from './latency.js';
export type { FaultKind, FaultRates } from './faults.js';
export type { MockStats, Endpoint as MockEndpoint } from './stats.js';
export type { MockRecord } from './dataset.js';
export { recordAt } from './dataset.js';
