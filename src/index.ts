// sluice public API: re-exports only.
export { systemClock, ManualClock, type Clock, type Timer } from './core/clock.js';
export { parseDuration, parseRate, type Duration, type Rate, type RateInput } from './core/duration.js';
export {
  SluiceError,
  ConfigError,
  RejectedError,
  RateLimitedError,
  QueueFullError,
  CircuitOpenError,
  TimeoutError,
  StoreUnavailableError,
  isAbortError,
} from './core/errors.js';
export { RateLimiter, type RateLimiterOptions, type AcquireOptions, type Decision, type RateLimiterStats } from './admission/rate-limiter.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  type PermitOptions,
  type Permit,
  type ConcurrencyStats,
} from './admission/concurrency.js';
export { type Algorithm, type LimitInput, type LimitSpec, capacityOf, toLimitSpecs } from './admission/limit-spec.js';
export { type LimitState } from './admission/limit-state.js';
export { GcraState, gcraWait } from './admission/gcra.js';
export { SlidingWindowState } from './admission/sliding-window.js';
export { FixedWindowState } from './admission/fixed-window.js';
export { MemoryStore, createLimitState } from './store/memory.js';
export { type RateStore } from './store/store.js';
