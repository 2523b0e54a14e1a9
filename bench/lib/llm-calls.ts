/**
 * Chat calls for bench/llm.bench.ts: `workers` loops calling an llmFetch against the mock's
 * chat endpoint until a given instant, in this process or (llm-worker.ts) in a child sharing
 * the quota through Redis. Every call: a 400-character prompt (100 tokens) and
 * `max_tokens: 300`; the mock answers 30–100 % of max_tokens, ~295 tokens a call.
 */
import type { SluiceFetch, SluiceFetchEvent } from '../../src/index.js';

export const CALL_BODY = JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 300 });

/** A clock every process on this machine shares. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface CallsResult {
  calls: number;
  statuses: Record<string, number>;
  /** `quota` events: corrections the store could not take. */
  quotaErrors: number;
}

/** Calls `f` from `workers` loops until `untilEpochMs` (epochNow); calls still waiting then are aborted. */
export async function runCalls(f: SluiceFetch, chatUrl: string, workers: number, untilEpochMs: number): Promise<CallsResult> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, untilEpochMs - epochNow()));
  const result: CallsResult = { calls: 0, statuses: {}, quotaErrors: 0 };
  const call = async (): Promise<boolean> => {
    try {
      const res = await f(chatUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body: CALL_BODY, signal: stop.signal });
      await res.arrayBuffer();
      result.calls++;
      result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
      return !stop.signal.aborted;
    } catch {
      return false;
    }
  };
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (await call());
    }),
  );
  clearTimeout(timer);
  return result;
}

/** An onEvent that counts `quota` events into `result`. */
export function countQuotaErrors(result: { quotaErrors: number }): (event: SluiceFetchEvent) => void {
  return (event) => {
    if (event.type === 'quota') result.quotaErrors++;
  };
}
