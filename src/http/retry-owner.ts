/**
 * The header the Stainless-generated SDKs (OpenAI, Anthropic, and others built the same
 * way) put on every request: how many times the SDK has retried this call, 0 on its first
 * attempt. It is sent whatever `maxRetries` is, so it says that the SDK owns the call's
 * retries, not how many it will make.
 */
export const SDK_RETRY_HEADER = 'x-stainless-retry-count';

/**
 * retriedByCaller: true when the request's sender retries it itself, so sluiceFetch must
 * not — one logical call retried by both makes (SDK retries + 1) × (sluice attempts)
 * requests: 9 for one `create()` against a persistent 429 with both at their defaults.
 *
 * The SDK is left the owner rather than asked to step aside (`maxRetries: 0`), because its
 * loop sees what sluice cannot — its own timeouts, the streaming state, the call's
 * idempotency key — and, sending each retry through this same sluiceFetch, it is still
 * paced: the rate limit, the server's pauses, the adaptive rate, the breaker and the
 * concurrency limit apply to every attempt it makes. Refusing or warning instead would make
 * every SDK user change a setting to get what this gives by default.
 */
export function retriedByCaller(headers: Headers): boolean {
  return headers.has(SDK_RETRY_HEADER);
}
