import type { Policy, PolicyContext } from '../policies/policy.js';
import { abortSignalOf, handOn, parentOf } from '../policies/scope.js';
import type { ServerPace } from './fetch-feedback.js';
import type { FirstAnswer } from '../adaptive/first-answer.js';
import type { FetchParts, FetchQuota, QuotaTicket } from './fetch-options.js';
import { redactText } from '../core/redact.js';

// The parts sluiceFetch adds to each request's pipeline (policies/pipeline.ts) around the
// shared policies: whose outcomes are whose, the extra quota, and the answer heard.

/** The `attempt` part: marks what each attempt returned or threw as this sluiceFetch's. */
export class MarkOurs implements Policy {
  constructor(private readonly ours: WeakSet<object>) {}

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn(handOn(context)));
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(
      (value) => {
        if (typeof value === 'object' && value !== null) this.ours.add(value);
        return value;
      },
      (error: unknown) => {
        if (typeof error === 'object' && error !== null) this.ours.add(error);
        throw error;
      },
    );
  }
}

/**
 * QuotaHold: one request's extra quota (LLM tokens), in the rate part of each attempt.
 * The ticket it reserves is the attempt's until the Answer takes it when the request is
 * sent; an attempt that ends before that (an abort while waiting for a concurrency slot)
 * settles it here as `'unsent'`, so nothing was used.
 */
export class QuotaHold implements Policy {
  private held: QuotaTicket | undefined;

  constructor(
    private readonly quota: FetchQuota,
    private readonly request: Request,
  ) {}

  async execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const ticket = await this.quota.reserve(this.request, abortSignalOf(parentOf(context)));
    this.held = ticket;
    try {
      return await fn(handOn(context));
    } catch (error) {
      if (this.held === ticket) {
        this.held = undefined;
        await ticket.settle('unsent');
      }
      throw error;
    }
  }

  /** The ticket of the attempt being sent, handed over once: from now on its answer settles it. */
  take(): QuotaTicket | undefined {
    const ticket = this.held;
    this.held = undefined;
    return ticket;
  }
}

/**
 * Answer: the `admitted` part of one request's pipeline. It hears each attempt that was
 * sent — outside the per-attempt timeout, so hearing is not cut short, and inside the
 * concurrency slot, which is held until then: the server's feedback goes to the pace, the
 * quota ticket is settled with the response (or with undefined when none came: the server
 * may have counted the request), and the event is reported. A settlement that fails is
 * reported as a `quota` event, not thrown: accounting must not turn an answer into a
 * failure (a retry would send it twice).
 */
export class Answer implements Policy {
  constructor(
    private readonly parts: FetchParts,
    private readonly pace: ServerPace,
    private readonly label: { method: string; url: string },
    private readonly quota: QuotaHold | undefined,
    /** Set for the request that goes first (FirstAnswer): its answer moves its count. */
    private readonly first: FirstAnswer | undefined,
  ) {}

  async execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const inner = handOn(context);
    const { clock, onEvent } = this.parts;
    let unsettled = this.quota?.take();
    const sentAt = clock.now();
    this.pace.sent(sentAt);
    try {
      const result = await fn(inner);
      // The work of sluiceFetch's pipeline is a fetch: its result is a Response.
      const response = result as unknown as Response;
      await this.first?.heard().catch(() => {});
      const step = this.pace.observe(response, sentAt);
      const ticket = unsettled;
      unsettled = undefined;
      if (ticket) await this.settle(ticket, response, inner.attempt);
      onEvent({ type: 'response', ...this.label, attempt: inner.attempt, status: response.status, durationMs: clock.now() - sentAt, throttled: step.throttled, ...step.detail });
      return result;
    } catch (error) {
      onEvent({ type: 'error', ...this.label, attempt: inner.attempt, durationMs: clock.now() - sentAt, error: describe(error) });
      if (unsettled) await this.settle(unsettled, undefined, inner.attempt);
      throw error;
    }
  }

  /** Settles `ticket`; a failure is reported, never thrown (see the class comment). */
  private async settle(ticket: QuotaTicket, response: Response | undefined, attempt: number): Promise<void> {
    try {
      await ticket.settle(response);
    } catch (error) {
      this.parts.onEvent({ type: 'quota', ...this.label, attempt, error: describe(error) });
    }
  }
}

/** An error as text for events, with any credential it quotes (URL, Bearer token, secret field) redacted. */
export function describe(error: unknown): string {
  return redactText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
