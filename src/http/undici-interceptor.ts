// Types only: undici is the caller's, never loaded by sluice (test/package.test.ts).
import type { Dispatcher } from 'undici';
import { compose } from '../policies/compose.js';
import { bulkhead, rateLimit } from '../policies/limiter-policies.js';
import { pipeline } from '../policies/pipeline.js';
import { ConfigError } from '../core/errors.js';
import { describe } from './fetch-attempt.js';
import { FirstAnswer } from '../adaptive/first-answer.js';
import { ServerPace } from './fetch-feedback.js';
import { resolveFetchOptions, type SluiceFetchOptions } from './fetch-options.js';
import { redactUrl } from './redact.js';

/**
 * What sluiceInterceptor applies: sluiceFetch's options that make sense for one dispatch —
 * the rate (adapted to the server's headers unless `adaptive: false`), the server's pauses
 * (Retry-After, a quota at 0 until its reset, at most `maxRetryAfter`), the concurrency
 * limit and the breaker. Retries and timeouts are the dispatcher's: compose undici's
 * `interceptors.retry()` after this one (so it is outside, and every retry is paced), and
 * set `headersTimeout` on the Agent.
 */
export type SluiceInterceptorOptions = Pick<SluiceFetchOptions, 'rate' | 'adaptive' | 'concurrency' | 'breaker' | 'maxRetryAfter' | 'clock'> & {
  /** Called for every answer and every failed dispatch; the URL is redacted, headers never appear. */
  onEvent?: ((event: SluiceDispatchEvent) => void) | undefined;
};

/** What sluiceInterceptor reports: one event per dispatch that was answered or failed. */
export type SluiceDispatchEvent =
  | { type: 'response'; method: string; url: string; status: number; throttled: boolean; rate?: number; pauseMs?: number }
  | { type: 'error'; method: string; url: string; error: string };

type ResponseHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** The status and headers of one answer: what the breaker classifies and the pace hears. */
interface Answered {
  status: number;
  headers: ResponseHeaders;
}

/**
 * sluiceInterceptor: sluice's admission for undici, as an interceptor for
 * `Dispatcher.compose`, so global `fetch`, undici's `request`/`fetch` and every client built
 * on them are paced by one line:
 *
 *     setGlobalDispatcher(new Agent().compose(sluiceInterceptor({ rate: '50/1s' }), interceptors.retry()));
 *
 * Each dispatch waits, in sluiceFetch's order (policies/pipeline.ts), for the breaker, the
 * server's pause, its turn from the rate limiter and a concurrency slot, then goes on to the
 * dispatcher below; the slot is held until the answer's headers arrive. The answer's
 * status and headers feed the adaptive rate and the pause, as sluiceFetch's do.
 *
 * It never retries: a dispatch is one request. Retrying belongs to undici's retry
 * interceptor, which replays bodies and resumes downloads; composed after this one it is
 * the outer layer, so each of its attempts passes through here again and is paced, and one
 * call against a persistent 429 costs at most its `maxRetries` + 1 requests.
 *
 * An abort while waiting (fetch's signal, undici's `signal`) ends the wait and frees what
 * it held: the handler gets the abort reason as its error, nothing is sent. A refusal
 * (an open breaker) reaches the handler as its error, before anything is sent. Bad options
 * throw ConfigError naming the field, when the interceptor is made. One interceptor per
 * server, as one sluiceFetch: its pauses and adapted rate are that server's (undici's
 * `Agent` per origin, or a `Pool`, for several).
 */
export function sluiceInterceptor(options: SluiceInterceptorOptions = {}): Dispatcher.DispatcherComposeInterceptor {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
  const { rate, adaptive, concurrency, breaker, maxRetryAfter, clock, onEvent } = options;
  if (onEvent !== undefined && typeof onEvent !== 'function') throw new ConfigError('onEvent', onEvent, 'must be a function');
  // One reading of the options, sluiceFetch's, so the two accept and refuse the same values.
  const parts = resolveFetchOptions({ rate, adaptive, concurrency, breaker, maxRetryAfter, clock, retry: false });
  const pace = new ServerPace(parts);
  const firstAnswer = FirstAnswer.for(parts.limiter);
  const admission = pipeline({
    breaker: parts.breaker,
    rateLimit: parts.adaptive || parts.limiter === undefined ? pace : compose(pace, rateLimit(parts.limiter)),
    bulkhead: parts.concurrency && bulkhead(parts.concurrency),
  });

  return (dispatch) =>
    function sluiceDispatch(opts, handler) {
      const label = { method: opts.method, url: redactUrl(`${String(opts.origin ?? '')}${opts.path}`) };
      const gate = new Gate();
      // The handler gets our controller now, so an abort while waiting reaches us.
      handler.onRequestStart?.(gate, {});
      let heard: ((answer: Answered) => void) | undefined;
      let failed: ((error: unknown) => void) | undefined;
      let sentAt = 0;
      // Until the first request has been answered, each goes alone and the first is counted
      // from its answer (FirstAnswer, as in sluiceFetch); the others go once it has moved.
      let first: FirstAnswer | undefined;
      let moved: Promise<void> | undefined;
      const listener: Dispatcher.DispatchHandler = {
        onRequestStart: (controller) => gate.attach(controller),
        onRequestUpgrade: (_controller, status, headers, socket) => handler.onRequestUpgrade?.(gate, status, headers, socket),
        onResponseStart: (_controller, status, headers, message) => {
          if (status >= 200 && heard) {
            if (first) moved = first.heard().catch(() => {});
            const step = pace.observe({ status, headers }, sentAt);
            onEvent?.({ type: 'response', ...label, status, throttled: step.throttled, ...step.detail });
            heard({ status, headers });
            heard = failed = undefined;
          }
          handler.onResponseStart?.(gate, status, headers, message);
        },
        onResponseData: (_controller, chunk) => handler.onResponseData?.(gate, chunk),
        onResponseEnd: (_controller, trailers) => handler.onResponseEnd?.(gate, trailers),
        onResponseError: (_controller, error) => {
          if (failed) {
            onEvent?.({ type: 'error', ...label, error: describe(error) });
            failed(error);
            heard = failed = undefined;
          }
          handler.onResponseError?.(gate, error);
        },
      };
      const send = async (): Promise<void> => {
        first = firstAnswer?.waiting && (await firstAnswer.enter(gate.signal)) ? firstAnswer : undefined;
        try {
          await admission.execute(
            () =>
              new Promise<Answered>((resolve, reject) => {
                heard = resolve;
                failed = reject;
                sentAt = parts.clock.now();
                pace.sent(sentAt);
                gate.sent = true;
                try {
                  dispatch(opts, listener);
                } catch (error) {
                  listener.onResponseError!(gate, error instanceof Error ? error : new Error(String(error)));
                }
              }),
            { signal: gate.signal },
          );
        } finally {
          await moved;
          first?.leave();
        }
      };
      send().catch((error: unknown) => {
        // Refused or aborted before it was sent; an error after sending reached the handler above.
        if (!gate.sent) handler.onResponseError?.(gate, error instanceof Error ? error : new Error(String(error)));
      });
      return true;
    };
}

/**
 * Gate: the controller the caller's handler holds for the whole dispatch. Before the
 * request is sent, an abort ends the wait (through `signal`); once the dispatcher below
 * hands over its own controller, abort, pause and resume go to it.
 */
class Gate implements Dispatcher.DispatchController {
  private readonly controller = new AbortController();
  private target: Dispatcher.DispatchController | undefined;
  private pausedHere = false;
  /** Handed to the dispatcher below: from now on its errors reach the handler through the listener. */
  sent = false;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.target?.aborted ?? this.controller.signal.aborted;
  }

  get paused(): boolean {
    return this.target?.paused ?? this.pausedHere;
  }

  get reason(): Error | null {
    if (this.target) return this.target.reason;
    const reason: unknown = this.controller.signal.reason;
    return reason === undefined ? null : reason instanceof Error ? reason : new Error(String(reason));
  }

  attach(target: Dispatcher.DispatchController): void {
    this.target = target;
    if (this.controller.signal.aborted) target.abort(this.reason!);
    else if (this.pausedHere) target.pause();
  }

  abort(reason: Error): void {
    if (this.target) this.target.abort(reason);
    else this.controller.abort(reason);
  }

  pause(): void {
    if (this.target) this.target.pause();
    else this.pausedHere = true;
  }

  resume(): void {
    if (this.target) this.target.resume();
    else this.pausedHere = false;
  }
}
