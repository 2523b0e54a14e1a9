// axios: a request interceptor waits for the server's pause and the limiter's turn
// (AdaptiveRate.admit, with the request's signal), a response interceptor — on success and
// on error, where a 429 lands — tells the adaptive rate what the server said. axios does not
// retry by itself; with axios-retry, its retries pass through the request interceptor again,
// so they are paced too. (axios's fetch adapter takes sluiceFetch whole instead:
// `axios.create({ adapter: 'fetch', env: { fetch: sluiceFetch({ rate }) } })`.)
//
//   node --import tsx examples/12-axios.ts
import axios, { isAxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { AdaptiveRate, parseFeedback, RateLimiter, systemClock } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const ATTEMPTS = 1; // axios sends once; a retry owner (axios-retry) would raise this
const mock = await startChatMock();

const adaptive = new AdaptiveRate(new RateLimiter({ limits: RATE }));
const sentAt = new WeakMap<InternalAxiosRequestConfig, number>();
const heard = (response: AxiosResponse): void => {
  const sent = sentAt.get(response.config) ?? systemClock.now();
  adaptive.observe({ sentAt: sent, now: systemClock.now(), ...parseFeedback({ status: response.status, headers: response.headers as Record<string, string> }) });
};

const api = axios.create({ baseURL: mock.url, headers: { authorization: 'Bearer sk-mock' } });
api.interceptors.request.use(async (config) => {
  await adaptive.admit(config.signal as AbortSignal | undefined);
  sentAt.set(config, systemClock.now());
  return config;
});
api.interceptors.response.use(
  (response) => (heard(response), response),
  (error: unknown) => {
    if (isAxiosError(error) && error.response) heard(error.response);
    throw error;
  },
);

const run = await paced((i) => api.post('/v1/chat/completions', chatBody(i)));
const stats = mock.stats();
const cost = await persistent429(mock, () => api.post('/v1/chat/completions', chatBody(0, true)));
await report('axios', mock, run, stats, cost, ATTEMPTS);
