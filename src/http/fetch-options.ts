import { ConcurrencyLimiter } from '../limiters/concurrency-limiter.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../policies/breaker.js';
import { AdaptiveRate, type AdaptiveRateOptions } from '../adaptive/adaptive-rate.js';
import { ArrivalMargin } from '../adaptive/arrival-margin.js';
import { defaultSlackMs, toLimitSpecs } from '../algorithms/limit-spec.js';
import { emissionOf } from '../algorithms/sliding-window.js';
import { arrivalJitterOn, RateLimiter } from '../limiters/rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration, type Duration, type RateInput } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { checkName, fetchChannel } from '../core/telemetry.js';
import { RetryPolicy, type RetryOptions } from '../policies/retry.js';
import { TimeoutPolicy } from '../policies/timeout.js';

/**
 * The fetch sluiceFetch wraps: the global one, or any that takes what it is handed (undici's
 * package, a test double). Every attempt calls it with an absolute URL string and an init
 * object, never a Request, so a fetch of another implementation works (see outgoing.ts).
 */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/** What sluiceFetch reports; URLs are redacted (no credentials, no secret query values), headers never appear. */
export type SluiceFetchEvent =
  /** An attempt's answer, `durationMs` after it was sent (its headers, not its body). */
  | { type: 'response'; method: string; url: string; attempt: number; status: number; durationMs: number; throttled: boolean; rate?: number; pauseMs?: number }
  | { type: 'error'; method: string; url: string; attempt: number; durationMs: number; error: string }
  | { type: 'retry'; attempt: number; delayMs: number; status?: number; url?: string }
  /**
   * The extra quota (LLM tokens) could not be corrected from this attempt's answer — its store
   * failed (RedisStore unreachable): the window keeps what it held, which may be less than was
   * used if the answer used more than estimated. The answer itself is returned as usual.
   */
  | { type: 'quota'; method: string; url: string; attempt: number; error: string }
  /** Adaptive rate lost (`'local'`: adapting in this process alone) or regained (`'shared'`) the fleet's shared state. */
  | { type: 'sharing'; sharing: 'shared' | 'local'; error?: string };

/**
 * A quota taken per attempt besides the request rate — LLM tokens (see llm.ts). `reserve`
 * runs after the rate limiter admitted the attempt. The ticket is settled with the
 * response; with undefined when the request was sent but no response came (the server may
 * have counted it); or with `'unsent'` when the attempt ended before sending (an abort
 * while waiting for a concurrency slot), so nothing was used.
 */
export interface FetchQuota {
  reserve(request: Request, signal: AbortSignal | undefined): Promise<QuotaTicket>;
}

export interface QuotaTicket {
  settle(response: Response | undefined | 'unsent'): Promise<void>;
}

export interface SluiceFetchOptions {
  /** Request rate: `'50/1s'`, several (`['10/1s', '1000/1h']`), or a RateLimiter to share. Default: none. */
  rate?: RateInput | readonly RateInput[] | RateLimiter | undefined;
  /**
   * Adapt the rate to what the server says (needs `rate`, which becomes the start and the
   * ceiling): `true` for the defaults, or RateAdaptation's options. Default `true` when
   * `rate` is set. `false` paces at `rate` and only pauses on Retry-After. When `rate` is a
   * RateLimiter over a RedisStore, the adapted rate is shared by every process using its
   * key (`shared: false` to adapt alone; `shared: someSharedAdaptation` to choose).
   */
  adaptive?: boolean | AdaptiveRateOptions | undefined;
  /**
   * How unevenly late requests may reach the server (RateLimiterOptions.arrivalJitter), for
   * the limiter made from `rate`. Default on real time: 2 % of the interval, at most 100 ms.
   * It is the floor: a 429 that comes while this client used its whole rate widens it
   * (ArrivalMargin). Set it on the RateLimiter when `rate` is one.
   */
  arrivalJitter?: Duration | undefined;
  /**
   * This fetch's place in the queue of a RateLimiter it shares (`rate`): its requests wait
   * ahead of those with a lower priority, FIFO among equals. Default 0. Only with
   * `adaptive: false` (an adaptive rate admits in its own order).
   */
  priority?: number | undefined;
  /** Most requests in flight: a number or a ConcurrencyLimiter to share. Default: unbounded. */
  concurrency?: number | ConcurrencyLimiter | undefined;
  /** Retry of 408/425/429/5xx and network errors, honouring Retry-After; `false` for none. Default `{ attempts: 3 }`. */
  retry?: RetryOptions | RetryPolicy | false | undefined;
  /** A circuit breaker's options or one to share. Default: none. */
  breaker?: CircuitBreakerOptions | CircuitBreaker | undefined;
  /** Time limit of each attempt (its response headers); aborts it with TimeoutError. Default: none. */
  timeout?: Duration | undefined;
  /**
   * Longest server-requested wait honoured. A request whose hint (Retry-After) is longer is
   * not retried: its 429 or 503 is returned at once, for the caller to decide; the pause that
   * holds back the other requests to the server is cut to this. Also the longest wait the
   * retry makes (its `maxDelayMs` is at most this). Default 60 s.
   */
  maxRetryAfter?: Duration | undefined;
  /** An extra per-attempt quota (LLM tokens). Default: none. */
  quota?: FetchQuota | undefined;
  /** The fetch to wrap, called as `fetch(url, init)` with a URL string. Default `globalThis.fetch`. */
  fetch?: FetchFn | undefined;
  /** Called for every response, error and retry, with secrets redacted. Also published on `sluice:fetch`, as `{ fetch: name, ...event }`. */
  onEvent?: ((event: SluiceFetchEvent) => void) | undefined;
  /** What this fetch (and the rate limiter it builds) is called in events and metrics: a label, so one per server. Default 'fetch'. */
  name?: string | undefined;
  clock?: Clock | undefined;
}

/** The options checked and built into their objects. */
export interface FetchParts {
  fetch: FetchFn;
  clock: Clock;
  adaptive: AdaptiveRate | undefined;
  limiter: RateLimiter | undefined;
  /** The requests' priority in the limiter's queue (SluiceFetchOptions.priority). */
  priority: number;
  /** The limiter's arrival margin, learnt from the answers; with the limiter. */
  margin: ArrivalMargin | undefined;
  concurrency: ConcurrencyLimiter | undefined;
  retry: RetryPolicy | undefined;
  breaker: CircuitBreaker | undefined;
  timeout: TimeoutPolicy | undefined;
  maxRetryAfterMs: number;
  quota: FetchQuota | undefined;
  /** Always set: it publishes on `sluice:fetch` whenever the channel has subscribers. */
  onEvent: (event: SluiceFetchEvent) => void;
}

/** Checks every option before any request; throws ConfigError naming the first bad field. */
export function resolveFetchOptions(options: SluiceFetchOptions): FetchParts {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
  const clock = options.clock ?? systemClock;
  const fetchFn = options.fetch ?? (globalThis.fetch as FetchFn | undefined);
  if (typeof fetchFn !== 'function') throw new ConfigError('fetch', options.fetch, 'must be a function with the fetch signature');
  if (options.arrivalJitter !== undefined && options.rate instanceof RateLimiter) {
    throw new ConfigError('arrivalJitter', options.arrivalJitter, 'applies to the limiter sluiceFetch makes from `rate`; set it on the RateLimiter given as `rate`');
  }
  const name = checkName(options.name, 'fetch');
  const limiter = toLimiter(options.rate, clock, options.arrivalJitter, name);
  const adaptiveInput = options.adaptive ?? limiter !== undefined;
  if (adaptiveInput !== false && adaptiveInput !== true && (typeof adaptiveInput !== 'object' || adaptiveInput === null)) {
    throw new ConfigError('adaptive', adaptiveInput, 'must be a boolean or an options object');
  }
  if (adaptiveInput !== false && limiter === undefined) throw new ConfigError('adaptive', adaptiveInput, 'needs a `rate` to start from');
  const adaptive =
    adaptiveInput === false || limiter === undefined ? undefined : new AdaptiveRate(limiter, { clock, firstAnswer: false, ...(adaptiveInput === true ? {} : adaptiveInput) });
  const priority = options.priority ?? 0;
  if (!Number.isFinite(priority)) throw new ConfigError('priority', options.priority, 'must be a finite number');
  if (priority !== 0 && adaptive !== undefined) throw new ConfigError('priority', options.priority, 'needs `adaptive: false`: an adaptive rate admits in its own order');
  const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout');
  const maxRetryAfterMs = parseDuration(options.maxRetryAfter ?? 60_000, 'maxRetryAfter');
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new ConfigError('onEvent', options.onEvent, 'must be a function');
  if (options.quota !== undefined && typeof options.quota?.reserve !== 'function') throw new ConfigError('quota', options.quota, 'must have a reserve(request, signal) method');
  return {
    fetch: fetchFn,
    clock,
    adaptive,
    limiter,
    priority,
    margin: limiter && new ArrivalMargin(limiter),
    concurrency: toConcurrency(options.concurrency),
    retry: toRetry(options.retry, clock, maxRetryAfterMs, name),
    breaker: toBreaker(options.breaker, clock),
    timeout: timeoutMs === undefined ? undefined : new TimeoutPolicy(timeoutMs, { clock, name }),
    maxRetryAfterMs,
    quota: options.quota,
    onEvent: publishing(name, options.onEvent),
  };
}

/** The caller's onEvent, and the `sluice:fetch` channel while it has subscribers. */
function publishing(name: string, onEvent: ((event: SluiceFetchEvent) => void) | undefined): (event: SluiceFetchEvent) => void {
  return (event) => {
    onEvent?.(event);
    if (fetchChannel.hasSubscribers) fetchChannel.publish({ fetch: name, ...event });
  };
}

function toLimiter(rate: SluiceFetchOptions['rate'], clock: Clock, arrivalJitter: Duration | undefined, name: string): RateLimiter | undefined {
  if (rate === undefined || rate instanceof RateLimiter) return rate;
  try {
    const specs = toLimitSpecs(rate, { arrivalJitter: arrivalJitterOn(clock, arrivalJitter) });
    const pacing = specs.reduce((a, b) => (b.intervalMs < a.intervalMs ? b : a));
    // A server's own limiter is what this one mirrors, so it keeps a token bucket's tight
    // slack (at most 1 ms) rather than the sliding window's catch-up of up to 10 ms: a
    // server counting in a bucket or a short window sees a catch-up as a burst, and the
    // adaptive rate, probing at the server's limit, pays for it in 429s (2.2–2.6 % against
    // 0.7 % at a hidden 50/s, test/http/adaptive-timing.test.ts). It may be up to a quarter
    // of the arrival jitter, and never a quarter of a start's interval: a catch-up then
    // never puts two starts back to back, and spends a quarter of the margin at most —
    // at 50/s, 5 ms, where 1 ms lost 1.4 % of the rate to late timers (BENCHMARKS.md, arrivals).
    const slack = Math.max(defaultSlackMs(pacing.limit, pacing.intervalMs, 'gcra'), Math.min(emissionOf(pacing), pacing.jitterMs ?? 0) / 4);
    return new RateLimiter({ limits: rate, clock, name, slack, ...(arrivalJitter === undefined ? {} : { arrivalJitter }) });
  } catch (error) {
    // The limiter names its own field `limits`; the caller wrote `rate`.
    if (error instanceof ConfigError) throw new ConfigError(error.field.replace(/^limits/, 'rate'), error.value, error.message.replace(/^[^:]*: /, '').replace(/ \(got .*\)$/, ''));
    throw error;
  }
}

function toConcurrency(value: SluiceFetchOptions['concurrency']): ConcurrencyLimiter | undefined {
  if (value === undefined || value instanceof ConcurrencyLimiter) return value;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) throw new ConfigError('concurrency', value, 'must be an integer >= 1 or a ConcurrencyLimiter');
  return new ConcurrencyLimiter({ limit: value });
}

/**
 * The retry, waiting for no hint longer than `maxRetryAfterMs`: a hint above its maxDelayMs
 * ends the retries with the response as it was, so a retry built here gets the smaller of
 * the two. A RetryPolicy given whole keeps its own maxDelayMs, so one longer than
 * maxRetryAfter is refused rather than quietly waited for.
 */
function toRetry(value: SluiceFetchOptions['retry'], clock: Clock, maxRetryAfterMs: number, name: string): RetryPolicy | undefined {
  if (value === false) return undefined;
  if (value instanceof RetryPolicy) {
    if (value.maxDelayMs > maxRetryAfterMs) {
      throw new ConfigError('retry', value, `a RetryPolicy whose maxDelayMs (${value.maxDelayMs} ms) is longer than maxRetryAfter (${maxRetryAfterMs} ms) would wait for hints sluiceFetch does not honour; give it maxDelayMs <= maxRetryAfter, or raise maxRetryAfter`);
    }
    return value;
  }
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new ConfigError('retry', value, 'must be retry options, a RetryPolicy or false');
  // Named after the fetch (unless named itself): its retries are this fetch's in metrics.
  const retry = prefixed('retry', () => new RetryPolicy({ clock, name, ...value }));
  return retry.maxDelayMs <= maxRetryAfterMs ? retry : new RetryPolicy({ clock, name, ...value, maxDelayMs: maxRetryAfterMs });
}

function toBreaker(value: SluiceFetchOptions['breaker'], clock: Clock): CircuitBreaker | undefined {
  if (value === undefined || value instanceof CircuitBreaker) return value;
  if (typeof value !== 'object' || value === null) throw new ConfigError('breaker', value, 'must be breaker options or a CircuitBreaker');
  return prefixed('breaker', () => new CircuitBreaker({ clock, ...value }));
}

/** Builds a part whose own ConfigError names a field inside it: `attempts` becomes `retry.attempts`. */
function prefixed<T>(prefix: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${prefix}.${error.field}`, error.value, error.message.replace(/^[^:]*: /, '').replace(/ \(got .*\)$/, ''));
    }
    throw error;
  }
}
