import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { parseFeedback } from '../../src/http/feedback/parse.js';
import { getJson, withMock } from './mock-helpers.js';

interface Completion {
  choices: { message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const post = (url: string, body: unknown, key = 'sk-test') =>
  getJson(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });

/** A prompt of `chars` characters: chars/4 prompt tokens by the mock's estimate. */
const ask = (chars: number, maxTokens: number): unknown => ({ model: 'gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(chars) }], max_tokens: maxTokens });

describe('mock API: OpenAI-compatible chat completions', () => {
  it('answers with a usage block that matches the prompt estimate and the answer', async () => {
    await withMock({}, async (mock) => {
      const { status, headers, body } = await post(mock.url, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hello world!' }] }], max_tokens: 50 });
      assert.equal(status, 200);
      const completion = body as Completion;
      assert.equal(completion.usage.prompt_tokens, Math.ceil(('be brief'.length + 'hello world!'.length) / 4));
      assert.ok(completion.usage.completion_tokens >= 1 && completion.usage.completion_tokens <= 50);
      assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
      assert.equal(completion.choices[0]!.message.role, 'assistant');
      assert.equal(headers.get('x-ratelimit-limit-requests'), '60');
      assert.equal(headers.get('x-ratelimit-remaining-requests'), '59');
      assert.equal(headers.get('x-ratelimit-limit-tokens'), '10000');
      assert.equal(headers.get('x-ratelimit-remaining-tokens'), String(10000 - completion.usage.total_tokens));
      assert.deepEqual(mock.stats().tokens, { prompt: completion.usage.prompt_tokens, completion: completion.usage.completion_tokens });
    });
  });

  it('enforces RPM: the request over the limit gets 429 with OpenAI headers', async () => {
    const clock = new ManualClock();
    await withMock({ chat: { requests: '3/1m', tokens: '100000/1m' }, clock }, async (mock) => {
      for (let i = 0; i < 3; i++) assert.equal((await post(mock.url, ask(40, 10))).status, 200);
      await clock.advance(20_000);
      const refused = await post(mock.url, ask(40, 10));
      assert.equal(refused.status, 429);
      assert.equal((refused.body as { error: { type: string; code: string } }).error.type, 'requests');
      assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
      assert.equal(refused.headers.get('retry-after-ms'), '40000');
      assert.equal(parseFeedback(refused).retryAfterMs, 40_000);
      assert.deepEqual(mock.stats().violations, { total: 1, byLimit: { 'chat:requests': 1 } });
    });
  });

  it('enforces TPM: admits when prompt + max_tokens fits, charges the usage it reports', async () => {
    const clock = new ManualClock();
    await withMock({ chat: { requests: '1000/1m', tokens: '2000/1m' }, clock }, async (mock) => {
      let charged = 0;
      let admitted = 0;
      let refused = 0;
      for (let i = 0; i < 20; i++) {
        const estimate = 100 + 300; // 400 chars of prompt, max_tokens 300
        const { status, body, headers } = await post(mock.url, ask(400, 300));
        if (charged + estimate <= 2000) {
          assert.equal(status, 200, `request ${i}: ${charged} charged`);
          charged += (body as Completion).usage.total_tokens;
          admitted++;
        } else {
          assert.equal(status, 429, `request ${i}: ${charged} charged`);
          assert.equal((body as { error: { type: string } }).error.type, 'tokens');
          assert.equal(headers.get('x-ratelimit-remaining-tokens'), String(2000 - charged));
          refused++;
        }
      }
      assert.ok(admitted >= 5 && refused > 0, `${admitted} admitted, ${refused} refused`);
      assert.equal(mock.stats().violations.byLimit['chat:tokens'], refused);
      await clock.advance(60_000);
      assert.equal((await post(mock.url, ask(400, 300))).status, 200); // the window has moved on
    });
  });

  it("chat.admit 'usage': a request needs room only for the tokens its answer uses", async () => {
    const clock = new ManualClock();
    await withMock({ chat: { requests: '1000/1m', tokens: '2000/1m', admit: 'usage' }, clock }, async (mock) => {
      let charged = 0;
      let pastMaxTokens = false;
      for (let i = 0; i < 20; i++) {
        const { status, body } = await post(mock.url, ask(40, 300)); // uses 10 + 90..300
        if (status !== 200) continue;
        if (charged + 310 > 2000) pastMaxTokens = true; // 'max_tokens' would have refused it
        charged += (body as Completion).usage.total_tokens;
      }
      assert.ok(charged <= 2000, `${charged} charged`);
      assert.ok(pastMaxTokens, 'admitted on its usage');
      assert.ok(mock.stats().violations.byLimit['chat:tokens']! > 0);
    });
  });

  it('a request larger than the whole TPM is refused without a Retry-After', async () => {
    await withMock({ chat: { tokens: '1000/1m' } }, async (mock) => {
      const { status, headers } = await post(mock.url, ask(400, 2000));
      assert.equal(status, 429);
      assert.equal(headers.get('retry-after'), null);
    });
  });

  it('per API key quotas from the Authorization header', async () => {
    await withMock({ chat: { requests: '1/1m' }, limitBy: 'key', keyHeader: 'authorization' }, async (mock) => {
      assert.equal((await post(mock.url, ask(4, 5), 'sk-a')).status, 200);
      assert.equal((await post(mock.url, ask(4, 5), 'sk-a')).status, 429);
      assert.equal((await post(mock.url, ask(4, 5), 'sk-b')).status, 200);
    });
  });

  it('bad bodies get 400 in OpenAI shape; GET gets 405', async () => {
    await withMock({}, async (mock) => {
      for (const body of [{}, { messages: [] }, { messages: [{ role: 'user' }] }, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }]) {
        const res = await post(mock.url, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal((res.body as { error: { type: string } }).error.type, 'invalid_request_error');
      }
      assert.equal((await getJson(`${mock.url}/v1/chat/completions`)).status, 405);
      assert.equal(mock.stats().violations.total, 0);
    });
  });
});
