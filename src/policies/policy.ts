/**
 * What a policy hands the function it runs: the signal to stop on (aborted by a timeout,
 * a hedge that lost, or the caller) and the 1-based attempt number.
 *
 * Policies create `signal` lazily: an AbortSignal costs microseconds in Node, more than a
 * whole policy stack, so work that never reads it never pays for one. Reading it gives a
 * real signal that aborts with the same reason as the policy's own cancellation.
 */
export interface PolicyContext {
  signal: AbortSignal;
  attempt: number;
}

/**
 * Policy: anything that runs a function under some rule — retry, breaker, timeout, a rate
 * or concurrency limit. Policies are values; `compose(a, b, c)` wraps outer → inner.
 * `context` carries the caller's signal (and, between policies, the attempt number).
 */
export interface Policy {
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T>;
}
