import { channel, type Channel } from 'node:diagnostics_channel';
import { ConfigError } from './errors.js';
import { Emitter, type Disposer, type Subscribe } from './events.js';

/**
 * The `node:diagnostics_channel` names sluice publishes on. An APM tool (or
 * `sluice/otel`) subscribes to them by name and sees every limiter, breaker and fetch of
 * the process, with no change to the code that made them. Nothing is published — and no
 * message built — while a channel has no subscribers.
 *
 * - `sluice:limiter`: LimiterEvent (RateLimiter, ConcurrencyLimiter), each naming its limiter;
 * - `sluice:breaker`: BreakerEvent (CircuitBreaker), each naming its breaker;
 * - `sluice:fetch`: SluiceFetchEvent with the sluiceFetch's `name` as `fetch`;
 * - `sluice:resilience`: RetryEvent, GiveUpEvent, TimeoutEvent and HedgeEvent (RetryPolicy,
 *   TimeoutPolicy, HedgePolicy), each naming its policy.
 */
export const CHANNEL_NAMES = { limiter: 'sluice:limiter', breaker: 'sluice:breaker', fetch: 'sluice:fetch', resilience: 'sluice:resilience' } as const;

/** The channels themselves: diagnostics_channel keeps one per name, so these are the ones subscribers get. */
export const limiterChannel: Channel = channel(CHANNEL_NAMES.limiter);
export const breakerChannel: Channel = channel(CHANNEL_NAMES.breaker);
export const fetchChannel: Channel = channel(CHANNEL_NAMES.fetch);
export const resilienceChannel: Channel = channel(CHANNEL_NAMES.resilience);

/**
 * Telemetry: one component's events, to its own subscribers and to its diagnostics
 * channel. `listening` is a plain field, so the hot path of whoever emits checks it (and the
 * channel's `hasSubscribers`) with a load each, and builds no event when neither listens.
 */
export class Telemetry<E> {
  private readonly emitter = new Emitter<E>();
  /** True while anyone subscribed through `subscribe`. */
  listening = false;

  constructor(private readonly published: Channel) {}

  /** Adds a listener; the disposer removes it. */
  readonly subscribe: Subscribe<E> = (listener) => {
    const dispose: Disposer = this.emitter.subscribe(listener);
    this.listening = true;
    return () => {
      dispose();
      this.listening = this.emitter.active;
    };
  };

  /** True while a subscriber or the channel would see an event: guard building one with it. */
  get active(): boolean {
    return this.listening || this.published.hasSubscribers;
  }

  emit(event: E): void {
    if (this.listening) this.emitter.emit(event);
    if (this.published.hasSubscribers) this.published.publish(event);
  }
}

/**
 * The name a component is labelled by in events and metrics: `given`, checked, or
 * `fallback` (its kind, e.g. 'rate-limiter'). Names are metric label values, so they should
 * be few and stable: name each component once, never per request or per key.
 */
export function checkName(given: unknown, fallback: string): string {
  if (given === undefined) return fallback;
  if (typeof given !== 'string' || !/^[\w.:/-]{1,100}$/.test(given)) {
    throw new ConfigError('name', given, 'must be 1 to 100 letters, digits or . _ : / - (it labels metrics)');
  }
  return given;
}
