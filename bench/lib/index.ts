/**
 * Shared helpers for bench/*.bench.ts: timing and heap (measure.ts), start-window
 * analysis (windows.ts), result tables with ratios (table.ts) and the hand-written
 * semaphore every library is compared to (semaphore.ts).
 */
export * from './measure.js';
export * from './semaphore.js';
export * from './table.js';
export * from './windows.js';
export * from './rate-peers.js';
