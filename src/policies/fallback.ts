import { isAbortError } from '../core/errors.js';
import type { PolicyContext } from './policy.js';
import { Context, isAborted, parentOf } from './scope.js';

/** What a fallback function is given: the error it replaces, and the call's context. */
export type FallbackFn<F> = (error: unknown, context: PolicyContext) => F | PromiseLike<F>;

export interface FallbackOptions {
  /** Which errors to replace. Default: every error except an abort (the caller's or any AbortError). */
  when?: ((error: unknown) => boolean) | undefined;
}

/**
 * FallbackPolicy: when the call fails, returns a substitute instead of the error — a
 * fixed value, or what a function of the error returns (an error it throws propagates).
 * A caller's abort is never replaced: whoever aborted does not want a value.
 *
 * Its results are `T | F`, so in `compose` it goes outermost.
 */
export class FallbackPolicy<F> {
  private readonly substitute: FallbackFn<F>;
  private readonly when: (error: unknown) => boolean;

  constructor(valueOrFn: F | FallbackFn<F>, options: FallbackOptions = {}) {
    this.substitute = typeof valueOrFn === 'function' ? (valueOrFn as FallbackFn<F>) : () => valueOrFn;
    this.when = options.when ?? ((error) => !isAbortError(error));
  }

  async execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T | F> {
    const parent = parentOf(context);
    const inner = new Context(parent, context?.attempt ?? 1);
    try {
      return await fn(inner);
    } catch (error) {
      if (isAborted(parent) || !this.when(error)) throw error;
      return await this.substitute(error, inner);
    }
  }
}

/**
 * fallback: a FallbackPolicy. A function argument is called with the error; to fall back
 * to a function value itself, wrap it: `fallback(() => myFunction)`.
 */
export function fallback<F>(valueOrFn: F | FallbackFn<F>, options?: FallbackOptions): FallbackPolicy<F> {
  return new FallbackPolicy(valueOrFn, options);
}
