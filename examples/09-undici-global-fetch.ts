// Every `fetch` in the process paced by one line: sluice's interceptor on undici's global
// dispatcher. Node's global fetch, undici's own fetch/request and every client built on them
// go through it. Retries are undici's retry interceptor's, composed after sluice's so it is
// the outer layer: each retry passes through sluice again and is paced.
//
//   node --import tsx examples/09-undici-global-fetch.ts
import { Agent, interceptors, setGlobalDispatcher } from 'undici';
import { sluiceInterceptor } from 'sluice/undici';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const ATTEMPTS = 3;
const mock = await startChatMock();

setGlobalDispatcher(
  new Agent().compose(
    sluiceInterceptor({ rate: RATE, concurrency: 8 }),
    // POST included: a chat completion is safe to resend after a 429 (nothing was done).
    interceptors.retry({ maxRetries: ATTEMPTS - 1, methods: ['GET', 'POST'], statusCodes: [429, 500, 502, 503, 504], throwOnError: false }),
  ),
);

const chat = (i: number, tooLarge = false): Promise<Response> =>
  fetch(mock.endpoints.chat, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-mock' }, body: JSON.stringify(chatBody(i, tooLarge)) });

const run = await paced(async (i) => {
  const res = await chat(i);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  await res.json();
});
const stats = mock.stats();
const cost = await persistent429(mock, () => chat(0, true).then((res) => res.arrayBuffer()));
await report('undici', mock, run, stats, cost, ATTEMPTS);
