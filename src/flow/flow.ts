import { FlowEngine } from './engine.js';
import type { Disposer } from '../core/events.js';
import { resolveOptions } from './options.js';
import type { FlowEvents, FlowOptions, FlowResult, FlowSource, FlowStats, FlowWorker } from './types.js';

/**
 * Flow: the results of running a worker over a source, as an async iterable. Iterate it
 * once. `stats()` and `on()` work before, during and after the iteration.
 */
export interface Flow<I, O> extends AsyncIterable<FlowResult<I, O>> {
  /** What this flow is called in metrics (FlowOptions.name). */
  readonly name: string;
  stats(): FlowStats;
  /** Subscribes to an event; returns the disposer. Events nobody listens to cost nothing. */
  on<K extends keyof FlowEvents<I, O>>(name: K, listener: (payload: FlowEvents<I, O>[K]) => void): Disposer;
}

/**
 * flow runs `worker` over every item of `source` under the given admission (rate,
 * concurrency, guard) and execution policies (retry, breaker, timeout), and yields one
 * result per item — `{ ok: true, value }` or `{ ok: false, error }` with its `input`,
 * `index` and `attempts`.
 *
 * Guarantees: the source is read lazily, never more than `buffer` items ahead of the
 * workers; at most `window` items are started and not yet taken by the consumer; one
 * failing item never stops or hangs the rest (unless `stopOnError`); leaving the
 * `for await` early aborts the work in flight, stops reading and closes the source.
 * Nothing starts until the iteration does. Options are checked at once (ConfigError).
 *
 * @example
 * for await (const r of flow(pageNumbers, fetchPage, { rate: '100/1m', concurrency: 'auto' })) {
 *   if (r.ok) save(r.value); else console.error(r.index, r.error);
 * }
 */
export function flow<I, O>(source: FlowSource<I>, worker: FlowWorker<I, O>, options?: FlowOptions<I>): Flow<I, O> {
  if (typeof worker !== 'function') throw new TypeError('flow: worker must be a function');
  if (source === null || source === undefined) throw new TypeError('flow: source must be an Iterable or an AsyncIterable');
  const config = resolveOptions(options);
  const engine = new FlowEngine(source, worker, config);
  let iterated = false;
  const made: Flow<I, O> = {
    name: config.name,
    [Symbol.asyncIterator]() {
      if (iterated) throw new TypeError('flow: a flow can be iterated only once');
      iterated = true;
      return engine;
    },
    stats: () => engine.stats(),
    on: (name, listener) => engine.events.on(name, listener),
  };
  flows.add(made);
  return made;
}

const flows = new WeakSet<object>();

/** Whether `value` is a Flow made by `flow()` (sluice/otel measures them). */
export function isFlow(value: unknown): value is Flow<unknown, unknown> {
  return typeof value === 'object' && value !== null && flows.has(value);
}
