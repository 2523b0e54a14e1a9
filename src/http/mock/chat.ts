import type { Random } from './random.js';

/** What the mock reads from a chat completion request. */
export interface ChatRequest {
  model: string;
  promptTokens: number;
  maxTokens: number;
}

/** Tokens for a piece of text, estimated as OpenAI's rule of thumb does: about four characters each. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/**
 * Reads an OpenAI chat completion body: `messages` (string content, or parts with `text`)
 * and `max_tokens` / `max_completion_tokens` (default `defaultMaxTokens`). Returns an error
 * message for a body the real API would refuse with 400.
 */
export function parseChatRequest(text: string, defaultMaxTokens: number): ChatRequest | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not valid JSON';
  }
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const { model, messages, max_tokens, max_completion_tokens } = body as Record<string, unknown>;
  if (!Array.isArray(messages) || messages.length === 0) return "'messages' must be a non-empty array";
  let chars = 0;
  for (const message of messages) {
    const content: unknown = typeof message === 'object' && message !== null ? (message as { content?: unknown }).content : undefined;
    if (typeof content === 'string') chars += content.length;
    else if (Array.isArray(content)) for (const part of content) chars += textOf(part).length;
    else return "each message needs a 'content'";
  }
  const max = max_completion_tokens ?? max_tokens ?? defaultMaxTokens;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) return "'max_tokens' must be a positive integer";
  return { model: typeof model === 'string' ? model : 'mock-1', promptTokens: Math.max(1, estimateTokens(chars)), maxTokens: max };
}

function textOf(part: unknown): string {
  const text: unknown = typeof part === 'object' && part !== null ? (part as { text?: unknown }).text : undefined;
  return typeof text === 'string' ? text : '';
}

/** How many tokens the answer uses: between 30% and 100% of `max_tokens`, so actual usage differs from the reservation. */
export function completionTokensFor(request: ChatRequest, random: Random): number {
  return Math.max(1, Math.min(request.maxTokens, Math.round(request.maxTokens * (0.3 + 0.7 * random()))));
}

const WORDS = ['sluice', 'gate', 'flow', 'rate', 'token', 'window', 'quota', 'river', 'lock', 'water', 'level', 'steady'];

/** An OpenAI-shaped chat completion whose `usage` block is what the mock charged. */
export function chatCompletion(request: ChatRequest, completionTokens: number, id: number, createdSec: number): unknown {
  // One short word per token, so the text is about as long as the usage says.
  const words: string[] = [];
  for (let i = 0; i < completionTokens; i++) words.push(WORDS[(id + i) % WORDS.length]!);
  return {
    id: `chatcmpl-mock-${id}`,
    object: 'chat.completion',
    created: createdSec,
    model: request.model,
    choices: [{ index: 0, message: { role: 'assistant', content: words.join(' ') }, finish_reason: completionTokens >= request.maxTokens ? 'length' : 'stop' }],
    usage: { prompt_tokens: request.promptTokens, completion_tokens: completionTokens, total_tokens: request.promptTokens + completionTokens },
  };
}

/** The error body OpenAI sends with a 429. */
export function rateLimitError(kind: 'requests' | 'tokens', detail: string): unknown {
  return { error: { message: `Rate limit reached for ${kind}: ${detail}`, type: kind, param: null, code: 'rate_limit_exceeded' } };
}
