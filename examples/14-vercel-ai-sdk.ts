// The Vercel AI SDK: its providers take a fetch, so sluiceFetch goes in `createOpenAI`.
// generateText retries by itself (`maxRetries`, default 2) without marking its requests, so
// one side must be off: here sluice owns the retries (`maxRetries: 0` on the call), which
// honour Retry-After and pause every request to the server.
//
//   node --import tsx examples/14-vercel-ai-sdk.ts
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { sluiceFetch } from 'sluice';
import { chatBody, paced, persistent429, RATE, report, startChatMock } from './lib/integration-check.js';

const ATTEMPTS = 3;
const mock = await startChatMock();

const provider = createOpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-mock', fetch: sluiceFetch({ rate: RATE, concurrency: 8, retry: { attempts: ATTEMPTS } }) });
const ask = (i: number, tooLarge = false): ReturnType<typeof generateText> => {
  const { messages, max_tokens } = chatBody(i, tooLarge);
  return generateText({ model: provider.chat('gpt-mock'), prompt: messages[0]!.content, maxOutputTokens: max_tokens, maxRetries: 0 });
};

const run = await paced((i) => ask(i));
const stats = mock.stats();
const cost = await persistent429(mock, () => ask(0, true));
await report('ai-sdk', mock, run, stats, cost, ATTEMPTS);
