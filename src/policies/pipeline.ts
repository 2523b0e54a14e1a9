import { compose } from './compose.js';
import type { FallbackPolicy } from './fallback.js';
import type { Policy } from './policy.js';

/**
 * PipelineParts: the parts of a resilience pipeline, each named by the place it takes.
 * Every part is optional. `pipeline` stacks them outer → inner in the order of the fields
 * below, which docs/resilience.md explains ("The order to compose them in").
 *
 * `attempt` and `admitted` are places for the pipeline's owner to watch its attempts
 * (flow counts them, sluiceFetch hears the server's answer); they refuse nothing.
 */
export interface PipelineParts {
  /** Outermost: replaces a failure with a value. Its result type widens to `T | F`, so nothing may wrap it. */
  fallback?: FallbackPolicy<unknown> | undefined;
  /** The caller's whole budget: covers the retries and every wait inside them, and aborts everything below when it runs out. */
  deadline?: Policy | undefined;
  /** Tries again; everything below runs once per attempt, so every attempt is seen by the breaker and pays its quota. */
  retry?: Policy | undefined;
  /** Sees each attempt as the retry makes it, before anything below can refuse it. */
  attempt?: Policy | undefined;
  /** Refuses at once while the dependency is down. Outside the limits: a refused call spends no quota and holds no slot. */
  breaker?: Policy | undefined;
  /** Waits for the quota (several rate limits composed in the owner's order), before a slot is taken. */
  rateLimit?: Policy | undefined;
  /** Waits for a concurrency slot, held until the attempt below has ended. */
  bulkhead?: Policy | undefined;
  /** Sees each attempt that was admitted, around its timeout: the answer is heard whole, inside the slot. */
  admitted?: Policy | undefined;
  /** The per-attempt timeout, innermost: it times the call, not the waits above it, and its TimeoutError is one retry can retry. */
  timeout?: Policy | undefined;
}

/**
 * pipeline: the parts given, composed in the recommended order whatever order they are
 * written in. sluiceFetch builds each request's pipeline with it and flow each item's, so
 * the order lives here only. With no parts it runs the function once, as `compose()`.
 */
export function pipeline<F>(parts: PipelineParts & { fallback: FallbackPolicy<F> }): FallbackPolicy<F>;
export function pipeline(parts: Omit<PipelineParts, 'fallback'>): Policy;
export function pipeline(parts: PipelineParts): Policy | FallbackPolicy<unknown> {
  // The one statement of the order, outer → inner.
  const order = [parts.fallback as Policy | undefined, parts.deadline, parts.retry, parts.attempt, parts.breaker, parts.rateLimit, parts.bulkhead, parts.admitted, parts.timeout];
  const layers: Policy[] = [];
  for (const part of order) if (part !== undefined) layers.push(part);
  return compose(...layers);
}
