/**
 * The check every integration example runs (examples 09–15): its client sends CALLS chat
 * completions through sluice to the mock's OpenAI-style endpoint, which allows LIMIT
 * requests a second and says so in OpenAI's headers; then one call the server refuses
 * every time — a prompt larger than the whole token quota, answered 429 forever, as
 * OpenAI answers "Request too large" — to count what a persistent 429 costs.
 *
 * The example prints `RESULT client=… calls=… ok=… throttled=… violations=… persistent-requests=… attempts=… margin=… longest-stall=…`:
 * test/examples.test.ts asserts no 429 and no violation while pacing — unless this process,
 * where the mock counts arrivals, stalled longer than the limiter's margin for uneven
 * arrivals (MARGIN_MS, the default at 1 s) — and that the persistent 429 cost at most
 * `attempts` requests.
 */
import { startMockApi, type MockApi } from 'sluice';
import { watchStalls } from './stalls.js';

/** The mock's stated limit, and the rate the client is given: the same. */
export const LIMIT = 20;
export const RATE = `${LIMIT}/1s`;
export const CALLS = 40;
/** The arrival jitter a limiter of LIMIT per 1 s assumes by default: 2 % of its interval. */
export const MARGIN_MS = 20;
/** A token quota no single call in the paced phase comes near, and the persistent call exceeds on its own. */
const TOKENS_PER_SECOND = 50_000;

export function startChatMock(): Promise<MockApi> {
  return startMockApi({ chat: { requests: RATE, tokens: `${TOKENS_PER_SECOND}/1s` }, latency: '5ms-20ms' });
}

/** A chat completion request body; `tooLarge` asks for more tokens than the quota holds, so it is refused every time. */
export function chatBody(i: number, tooLarge = false): { model: string; messages: { role: 'user'; content: string }[]; max_tokens: number } {
  return { model: 'gpt-mock', messages: [{ role: 'user', content: `question ${i}` }], max_tokens: tooLarge ? TOKENS_PER_SECOND * 2 : 16 };
}

let stalls: ReturnType<typeof watchStalls> | undefined;

/** Runs `call(i)` for i = 1…CALLS, `workers` at a time; returns how many succeeded. */
export async function paced(call: (i: number) => Promise<unknown>, workers = 8): Promise<{ ok: number; seconds: number }> {
  let next = 1;
  let ok = 0;
  stalls ??= watchStalls();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next <= CALLS) {
        const i = next++;
        try {
          await call(i);
          ok++;
        } catch (error) {
          console.error(`call ${i} failed:`, error instanceof Error ? error.message : error);
        }
      }
    }),
  );
  return { ok, seconds: (performance.now() - started) / 1000 };
}

/** Sends the call the server always refuses and counts the requests it cost. */
export async function persistent429(mock: MockApi, call: () => Promise<unknown>): Promise<number> {
  const before = mock.stats().requests;
  await call().catch(() => {}); // a client that throws on 429 has its own way to say it; the count is what matters
  return mock.stats().requests - before;
}

/** Prints the example's summary and its RESULT line, and closes the mock. */
export async function report(client: string, mock: MockApi, run: { ok: number; seconds: number }, stats: ReturnType<MockApi['stats']>, persistentRequests: number, attempts: number): Promise<void> {
  await mock.close();
  console.log(`${client}: ${run.ok}/${CALLS} calls in ${run.seconds.toFixed(2)} s (${(CALLS / run.seconds).toFixed(1)}/s against the mock's ${LIMIT}/s), ${stats.throttled} refused`);
  console.log(`a persistent 429 cost ${persistentRequests} requests (at most ${attempts})`);
  const longest = stalls?.longestMs() ?? 0;
  console.log(`the limiter's margin for uneven arrivals: ${MARGIN_MS} ms; the longest this process stalled: ${longest.toFixed(0)} ms`);
  console.log(`RESULT client=${client} calls=${CALLS} ok=${run.ok} throttled=${stats.throttled} violations=${stats.violations.total} persistent-requests=${persistentRequests} attempts=${attempts} margin=${MARGIN_MS} longest-stall=${longest.toFixed(0)}`);
}
