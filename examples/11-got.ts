// got has no fetch option, so sluice goes into its hooks: `beforeRequest` waits for the
// server's pause and the limiter's turn (AdaptiveRate.admit), `afterResponse` tells the
// adaptive rate what the server said (parseFeedback reads got's headers as they are). got
// keeps its own retries — they run `beforeRequest` again, so every retry is paced too, and
// it honours Retry-After — so one call against a persistent 429 costs `retry.limit` + 1.
//
//   node --import tsx examples/11-got.ts
import got from 'got';
import { AdaptiveRate, parseFeedback, RateLimiter, systemClock } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const ATTEMPTS = 3;
const mock = await startChatMock();

// One AdaptiveRate per server: what it says about its limit says nothing about another's.
const adaptive = new AdaptiveRate(new RateLimiter({ limits: RATE }));
const sentAt = new WeakMap<object, number>();

const api = got.extend({
  prefixUrl: mock.url,
  headers: { authorization: 'Bearer sk-mock' },
  retry: { limit: ATTEMPTS - 1, methods: ['GET', 'POST'], statusCodes: [429, 500, 502, 503, 504] },
  hooks: {
    beforeRequest: [
      async (options) => {
        await adaptive.admit(options.signal as AbortSignal | undefined);
        sentAt.set(options, systemClock.now());
      },
    ],
    afterResponse: [
      (response) => {
        const sent = sentAt.get(response.request.options) ?? systemClock.now();
        adaptive.observe({ sentAt: sent, now: systemClock.now(), ...parseFeedback({ status: response.statusCode, headers: response.headers }) });
        return response;
      },
    ],
  },
});

const run = await paced((i) => api.post('v1/chat/completions', { json: chatBody(i) }).json());
const stats = mock.stats();
const cost = await persistent429(mock, () => api.post('v1/chat/completions', { json: chatBody(0, true) }).json());
await report('got', mock, run, stats, cost, ATTEMPTS);
