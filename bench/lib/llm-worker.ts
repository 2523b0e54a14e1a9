/**
 * One process of bench/llm.bench.ts's fleet: argv[2] is its options as JSON. It builds an
 * llmFetch whose token and request limits live in Redis (shared with the other processes
 * under one key), says 'ready' over IPC, waits for `{ startAt }`, calls until `untilAt` and
 * answers its CallsResult.
 */
import { Redis } from 'ioredis';
import { estimateChatTokens, llmFetch } from '../../src/index.js';
import { RedisStore } from '../../src/redis.js';
import { countQuotaErrors, epochNow, runCalls, type CallsResult } from './llm-calls.js';

interface WorkerOptions {
  chatUrl: string;
  redisUrl: string;
  prefix: string;
  /** Tokens and requests per window, and the window in real ms. */
  tpm: number;
  rpm: number;
  windowMs: number;
  margin: number;
  workers: number;
  /** Each call is estimated at this share of the default estimate: answers often use more. */
  estimateShare: number;
  seconds: number;
}

const o = JSON.parse(process.argv[2]!) as WorkerOptions;
const client = new Redis(o.redisUrl);
await new Promise((resolve) => client.once('ready', resolve));
const result: CallsResult & { late: number } = { calls: 0, statuses: {}, quotaErrors: 0, late: 0 };
const store = new RedisStore(client, { prefix: o.prefix });
const f = llmFetch({
  tokens: { limit: o.tpm, interval: o.windowMs },
  requests: { limit: o.rpm, interval: o.windowMs },
  margin: o.margin,
  store,
  key: 'bench',
  retry: false,
  estimate: (body) => Math.ceil(o.estimateShare * estimateChatTokens(body)),
  onEvent: countQuotaErrors(result),
});
const startAt = await new Promise<number>((resolve) => {
  process.once('message', (message) => resolve((message as { startAt: number }).startAt));
  process.send!('ready');
});
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - epochNow())));
const calls = await runCalls(f, o.chatUrl, o.workers, startAt + o.seconds * 1000);
Object.assign(result, { calls: calls.calls, statuses: calls.statuses, late: store.stats().late });
process.send!(result, () => {
  client.disconnect();
  process.disconnect();
});
