// The OpenAI SDK takes a fetch: give it sluiceFetch. The SDK marks each request with
// `x-stainless-retry-count`, so sluice leaves the retries to it (`maxRetries`, one owner)
// and paces every attempt it makes. The Anthropic SDK is built the same way (Stainless) and
// takes the same `fetch` option: `new Anthropic({ fetch: sluiceFetch({ rate }) })`.
//
//   node --import tsx examples/13-openai-sdk.ts
import OpenAI from 'openai';
import { sluiceFetch } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const MAX_RETRIES = 2;
const mock = await startChatMock();

const openai = new OpenAI({
  baseURL: `${mock.url}/v1`,
  apiKey: 'sk-mock',
  maxRetries: MAX_RETRIES, // the one retry owner
  fetch: sluiceFetch({ rate: RATE, concurrency: 8 }),
});

const run = await paced((i) => openai.chat.completions.create(chatBody(i)));
const stats = mock.stats();
const cost = await persistent429(mock, () => openai.chat.completions.create(chatBody(0, true))); // RateLimitError after its retries
await report('openai', mock, run, stats, cost, MAX_RETRIES + 1);
