// Resilience policies: retry, circuit breaker, timeout, fallback, hedge, limiter adapters, compose.
export { type Policy, type PolicyContext } from './policy.js';
export { compose } from './compose.js';
export { Backoff, constant, exponential, decorrelatedJitter, type BackoffStep } from './backoff.js';
export { RetryBudget, type RetryBudgetOptions } from './budget.js';
export { retry, RetryPolicy, type RetryOptions, type RetryEvent, type GiveUpEvent, type GiveUpReason } from './retry.js';
export { isTransient, RETRYABLE_STATUS } from './transient.js';
export { retryAfterOf, parseRetryAfter } from './retry-after.js';
export { isResponseLike, type Outcome, type ResponseLike } from './outcome.js';
export { timeout, TimeoutPolicy, type TimeoutOptions, type TimeoutEvent } from './timeout.js';
export { fallback, FallbackPolicy, type FallbackFn, type FallbackOptions } from './fallback.js';
export { hedge, HedgePolicy, type HedgeOptions, type HedgeEvent } from './hedge.js';
export { rateLimit, bulkhead, type RateLimitPolicyOptions } from './limiter-policies.js';
// Disposer and Random are plain function types; not re-exported, as flow and http define the same names.
export { type Subscribe } from '../core/events.js';
export {
  circuitBreaker,
  CircuitBreaker,
  breakerVerdict,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitSnapshot,
  type CallVerdict,
  type OpenEvent,
  type OpenReason,
} from './breaker.js';
export { type BreakerEvent, type BreakerStats, type CallOutcome } from './breaker-events.js';
