import type { FallbackPolicy } from './fallback.js';
import type { Policy, PolicyContext } from './policy.js';
import { Context, parentOf } from './scope.js';

/**
 * compose: one policy made of several, wrapped outer → inner: `compose(a, b, c)` runs
 * `a.execute(ctx => b.execute(ctx => c.execute(fn, ctx), ctx), ctx)`. Each policy hands
 * the next the context it made (a timeout's own signal, a retry's attempt number), so
 * the caller's AbortSignal reaches the function through every layer.
 *
 * `compose()` with no policies runs the function once. A FallbackPolicy widens the result
 * type, so it may only come first (outermost).
 *
 * The recommended order — fallback → deadline timeout → retry → breaker → rate limit →
 * concurrency → per-attempt timeout — is written once, in `pipeline` (pipeline.ts), which
 * builds sluiceFetch's and flow's stacks; docs/resilience.md says why.
 */
export function compose<F>(outer: FallbackPolicy<F>, ...inner: Policy[]): FallbackPolicy<F>;
export function compose(...policies: Policy[]): Policy;
export function compose(...policies: (Policy | FallbackPolicy<unknown>)[]): Policy | FallbackPolicy<unknown> {
  return new ComposedPolicy(policies as Policy[]);
}

class ComposedPolicy implements Policy {
  constructor(private readonly policies: readonly Policy[]) {}

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    return this.run(0, fn, context);
  }

  private run<T>(i: number, fn: (context: PolicyContext) => T | PromiseLike<T>, context: Partial<PolicyContext> | undefined): Promise<T> {
    const policies = this.policies;
    if (i === policies.length) {
      try {
        return Promise.resolve(fn(context instanceof Context ? context : new Context(parentOf(context), context?.attempt ?? 1)));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    // The innermost policy calls `fn` itself, so no layer adds a closure it does not need.
    if (i === policies.length - 1) return policies[i]!.execute(fn, context);
    return policies[i]!.execute((inner) => this.run(i + 1, fn, inner), context);
  }
}
