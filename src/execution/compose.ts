import type { FallbackPolicy } from './fallback.js';
import type { Policy, PolicyContext } from './policy.js';
import { signalOrNew } from './signal.js';

/**
 * compose: one policy made of several, wrapped outer → inner: `compose(a, b, c)` runs
 * `a.execute(ctx => b.execute(ctx => c.execute(fn, ctx), ctx), ctx)`. Each policy hands
 * the next the context it made (a timeout's own signal, a retry's attempt number), so
 * the caller's AbortSignal reaches the function through every layer.
 *
 * `compose()` with no policies runs the function once. A FallbackPolicy widens the result
 * type, so it may only come first (outermost).
 *
 * Recommended order: deadline timeout → retry → breaker → rate limit → concurrency →
 * per-attempt timeout (see docs/parts/resilience.md for why).
 */
export function compose<F>(outer: FallbackPolicy<F>, ...inner: Policy[]): FallbackPolicy<F>;
export function compose(...policies: Policy[]): Policy;
export function compose(...policies: (Policy | FallbackPolicy<unknown>)[]): Policy | FallbackPolicy<unknown> {
  return new ComposedPolicy(policies as Policy[]);
}

class ComposedPolicy implements Policy {
  constructor(private readonly policies: readonly Policy[]) {}

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const { policies } = this;
    const last = policies.length;
    const step = (i: number, ctx: Partial<PolicyContext> | undefined): Promise<T> => {
      if (i === last) {
        try {
          return Promise.resolve(fn({ signal: signalOrNew(ctx?.signal), attempt: ctx?.attempt ?? 1 }));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const policy = policies[i]!;
      // The innermost policy calls `fn` itself, so no layer adds a closure it does not need.
      if (i === last - 1) return policy.execute(fn, ctx);
      return policy.execute((inner) => step(i + 1, inner), ctx);
    };
    return step(0, context);
  }
}
