/**
 * What a policy hands the function it runs: the signal to stop on (aborted by a timeout,
 * a hedge that lost, or the caller) and the 1-based attempt number.
 */
export interface PolicyContext {
  signal: AbortSignal;
  attempt: number;
}

/**
 * Policy: anything that runs a function under some rule — retry, breaker, timeout, a rate
 * or concurrency limit. Policies are values; `compose(a, b, c)` wraps outer → inner.
 */
export interface Policy {
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T>;
}
