// LangChain.js has no rate limiter of its own. ChatOpenAI passes `configuration` to the
// OpenAI SDK it is built on, `fetch` included: sluiceFetch paces every call. LangChain
// retries by itself (`maxRetries`, default 6) and its OpenAI client marks requests with
// `x-stainless-retry-count`, so sluice does not retry them: LangChain is the one owner.
//
//   node --import tsx examples/15-langchain.ts
import { ChatOpenAI } from '@langchain/openai';
import { sluiceFetch } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const MAX_RETRIES = 2;
const mock = await startChatMock();

const model = (maxTokens: number): ChatOpenAI =>
  new ChatOpenAI({ model: 'gpt-mock', apiKey: 'sk-mock', maxTokens, maxRetries: MAX_RETRIES, configuration: { baseURL: `${mock.url}/v1`, fetch: pace } });
const pace = sluiceFetch({ rate: RATE, concurrency: 8 });
const small = model(chatBody(0).max_tokens);
const huge = model(chatBody(0, true).max_tokens);

const run = await paced((i) => small.invoke(chatBody(i).messages[0]!.content));
const stats = mock.stats();
const cost = await persistent429(mock, () => huge.invoke('too large'));
await report('langchain', mock, run, stats, cost, MAX_RETRIES + 1);
