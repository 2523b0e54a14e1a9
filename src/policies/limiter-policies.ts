import type { ConcurrencyLimiter } from '../limiters/concurrency-limiter.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';
import type { Policy, PolicyContext } from './policy.js';
import { abortSignalOf, Context, parentOf } from './scope.js';

export interface RateLimitPolicyOptions {
  /** Units each call uses. Default 1. */
  cost?: number | undefined;
  /** Higher is served first; FIFO among equals. Default 0. */
  priority?: number | undefined;
  /** Refuse with RateLimitedError (carrying `retryAfterMs`) if the wait would be longer. Default: wait. */
  maxWaitMs?: number | undefined;
}

/**
 * rateLimit: a RateLimiter as a policy. Each call waits for admission, then runs; the
 * caller's signal cancels the wait and gives its place back. Refusals are RateLimitedError
 * or QueueFullError, which a retry outside honours through their `retryAfterMs`.
 */
export function rateLimit(limiter: RateLimiter, options: RateLimitPolicyOptions = {}): Policy {
  const { cost, priority, maxWaitMs } = options;
  return {
    execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
      const parent = parentOf(context);
      const attempt = context?.attempt ?? 1;
      return limiter.run(() => fn(new Context(parent, attempt)), { signal: abortSignalOf(parent), cost, priority, maxWaitMs });
    },
  };
}

/**
 * bulkhead: a ConcurrencyLimiter as a policy. At most `limit` calls run at once; the
 * others wait (or get QueueFullError, as the limiter is configured). The slot is released
 * however the call ends; the caller's signal cancels the wait.
 */
export function bulkhead(limiter: ConcurrencyLimiter): Policy {
  return {
    execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
      const parent = parentOf(context);
      const attempt = context?.attempt ?? 1;
      return limiter.run(() => fn(new Context(parent, attempt)), { signal: abortSignalOf(parent) });
    },
  };
}
