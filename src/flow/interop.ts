import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { abortReason } from '../core/errors.js';

export interface PipeOptions<T> {
  /** Turns each item into what the stream accepts. Default: the item itself (object mode) . */
  serialize?: ((item: T) => unknown) | undefined;
  /** End the stream after the last item. Default true. */
  end?: boolean | undefined;
  /** Aborting stops the pipe, and the iteration it reads from, and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/**
 * pipeToWritable writes every item of `source` (a flow, or any async iterable) into a
 * Node Writable, waiting for `drain` whenever `write()` returns false: a slow disk slows
 * the flow instead of buffering without bound. Resolves with the number of items written
 * once the stream has finished (`end: true`) or the last write was accepted. A stream
 * error rejects and stops the source (its `return()` is called, which aborts a flow).
 *
 * @example
 * await pipeToWritable(flow(ids, fetchRecord), createWriteStream('out.ndjson'), {
 *   serialize: (r) => JSON.stringify(r.ok ? r.value : { error: String(r.error) }) + '\n',
 * });
 */
export async function pipeToWritable<T>(source: AsyncIterable<T> | Iterable<T>, stream: Writable, options: PipeOptions<T> = {}): Promise<number> {
  const serialize = options.serialize ?? ((item: T) => item);
  const signal = options.signal;
  let written = 0;
  let failure: { error: unknown } | undefined;
  // One error listener for the whole pipe, so a failure while we are not waiting is not lost.
  const onError = (error: unknown): void => {
    failure ??= { error };
  };
  stream.on('error', onError);
  try {
    for await (const item of source) {
      if (signal?.aborted) throw abortReason(signal);
      if (failure) throw failure.error;
      if (!stream.write(serialize(item))) await waitForDrain(stream, signal);
      written++;
    }
    if (failure) throw failure.error;
    if (options.end ?? true) {
      stream.end();
      await once(stream, 'finish', signal ? { signal } : {});
    }
    return written;
  } finally {
    stream.off('error', onError);
  }
}

/** Waits for `drain`, rejecting if the stream errors or closes first, or the signal aborts. */
async function waitForDrain(stream: Writable, signal: AbortSignal | undefined): Promise<void> {
  if (stream.destroyed) throw new Error('pipeToWritable: the stream was destroyed');
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([once(stream, 'drain', { signal: ac.signal }), once(stream, 'close', { signal: ac.signal }).then(() => {
      throw new Error('pipeToWritable: the stream closed before it drained');
    })]);
  } finally {
    ac.abort(); // removes whichever of the two listeners is still waiting
    signal?.removeEventListener('abort', onAbort);
  }
}
