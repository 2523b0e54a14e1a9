// ky takes a fetch: give it sluiceFetch, and turn ky's own retries off (`retry: 0`) so that
// sluice's — which honour Retry-After and pause every request to the server — are the only ones.
//
//   node --import tsx examples/10-ky.ts
import ky from 'ky';
import { sluiceFetch } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const ATTEMPTS = 3;
const mock = await startChatMock();

const api = ky.create({
  prefixUrl: mock.url,
  headers: { authorization: 'Bearer sk-mock' },
  fetch: sluiceFetch({ rate: RATE, concurrency: 8, retry: { attempts: ATTEMPTS } }),
  retry: 0, // one retry owner: sluice
});

const run = await paced((i) => api.post('v1/chat/completions', { json: chatBody(i) }).json());
const stats = mock.stats();
const cost = await persistent429(mock, () => api.post('v1/chat/completions', { json: chatBody(0, true) }).json()); // ky throws HTTPError on the last 429
await report('ky', mock, run, stats, cost, ATTEMPTS);
