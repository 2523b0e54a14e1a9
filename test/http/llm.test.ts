import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { TokenQuota } from '../../src/limiters/token-quota.js';
import { ManualClock } from '../../src/core/clock.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ConfigError } from '../../src/core/errors.js';
import { estimateChatTokens, llmFetch } from '../../src/http/index.js';
import { withMock } from './mock-helpers.js';

describe('estimateChatTokens', () => {
  it('counts message text at four characters a token, plus max_completion_tokens or max_tokens', () => {
    const body = { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hello world!' }] }], max_tokens: 50 };
    assert.equal(estimateChatTokens(body), Math.ceil(20 / 4) + 50);
    assert.equal(estimateChatTokens({ ...body, max_completion_tokens: 7 }), 5 + 7);
    assert.equal(estimateChatTokens({ messages: [] }, 300), 300, 'no max_tokens: the default');
    assert.equal(estimateChatTokens('not json'), 1024);
  });
});

describe('TokenQuota: reserve the estimate, correct from usage', () => {
  it('refunds an over-estimate so the next call starts at once, and charges an under-estimate', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: new RateLimiter({ limits: { rate: '1000/1m', burst: 1000 }, clock }) });
    const first = await quota.reserve(800);
    assert.equal((await quota.limiter.tryAcquire(300)).granted, false, '800 + 300 > 1000');
    await quota.settle(first, 500);
    assert.equal((await quota.limiter.tryAcquire(300)).granted, true, '500 used + 300 fits');
    const second = await quota.reserve(100);
    await quota.settle(second, 300); // 200 more than reserved: charged
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false, '500 + 300 + 300 used: full');
  });

  it('skips a refund once a later call was admitted (the limiter refunds the newest start), and counts it', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: new RateLimiter({ limits: { rate: '1000/1m', burst: 1000 }, clock }) });
    const a = await quota.reserve(400);
    await quota.reserve(400);
    await quota.settle(a, 100);
    assert.equal(quota.skippedRefunds, 1);
    assert.equal((await quota.limiter.tryAcquire(201)).granted, false, 'the estimate stands');
  });

  it('a refused call (0 used) gives all back; unknown usage keeps the estimate', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: new RateLimiter({ limits: { rate: '1000/1m', burst: 1000 }, clock }) });
    await quota.settle(await quota.reserve(1000), 0);
    await quota.settle(await quota.reserve(1000), undefined);
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false);
  });

  it('firstCallAlone: the others wait for the first answer, and its tokens count from that answer', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: { rate: '1000/1s', burst: 1000 }, clock });
    const quota = new TokenQuota({ tokens: limiter, firstCallAlone: true });
    const first = await quota.reserve(300);
    let secondIn = false;
    const second = quota.reserve(100).then((r) => ((secondIn = true), r));
    await clock.advance(50);
    assert.equal(secondIn, false, 'no second call before the first is answered');
    await quota.settle(first, 200); // answered at 50 ms: 200 tokens, counted from 50 ms
    await clock.advance(0);
    assert.equal(secondIn, true);
    await quota.settle(await second, 100);
    // At 1000 ms the tokens of a start at 0 would have left; the first call's 200 have not.
    await clock.advance(960);
    assert.equal((await limiter.tryAcquire(800)).granted, false, '200 still counted at 1010 ms');
    await clock.advance(50);
    assert.equal((await limiter.tryAcquire(800)).granted, true, 'gone at 1060 ms');
  });

  it('firstCallAlone over a store that cannot charge (RedisStore): the first call is corrected in place, not dropped', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    // reserve and refund only, as RedisStore
    const store = { reserve: memory.reserve.bind(memory), refund: memory.refund.bind(memory) };
    const limiter = new RateLimiter({ limits: { rate: '1000/1s', burst: 1000 }, clock, store });
    const quota = new TokenQuota({ tokens: limiter, firstCallAlone: true });
    await quota.settle(await quota.reserve(300), 200);
    assert.equal((await limiter.tryAcquire(801)).granted, false, 'the 200 used are still counted');
    assert.equal((await limiter.tryAcquire(800)).granted, true);
  });

  it('firstCallAlone: a first call aborted before admission lets the next go first', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: new RateLimiter({ limits: '10/1s', clock }), firstCallAlone: true });
    await quota.settle(await quota.reserve(1), 1); // full pacer for 100 ms
    const stop = new AbortController();
    const aborted = quota.reserve(1, stop.signal);
    stop.abort();
    await assert.rejects(aborted);
    const next = quota.reserve(1);
    await clock.runAll();
    assert.ok((await next).seq > 0);
  });

  it('bad options and estimates are ConfigErrors naming the field', async () => {
    assert.throws(() => new TokenQuota({ tokens: 'lots' }), (e: unknown) => e instanceof ConfigError && e.field === 'tokens');
    assert.throws(() => new TokenQuota({ tokens: '10/1s', margin: 1 }), (e: unknown) => e instanceof ConfigError && e.field === 'margin');
    assert.throws(() => llmFetch({ tokens: '10/1s', requests: 'x' }), (e: unknown) => e instanceof ConfigError && e.field === 'requests');
    await assert.rejects(new TokenQuota({ tokens: '10/1s' }).reserve(0), (e: unknown) => e instanceof ConfigError && e.field === 'estimate');
  });
});

describe('llmFetch accounting', () => {
  it('sends its first call alone: the others take no request slot until it is answered', async () => {
    const usage = (total: number): Response => Response.json({ usage: { total_tokens: total } });
    let release: (() => void) | undefined;
    const answers = [() => new Promise<Response>((resolve) => (release = () => resolve(usage(5)))), () => Promise.resolve(usage(5)), () => Promise.resolve(usage(5))];
    const requests = new RateLimiter({ limits: { rate: '1000/1h', burst: 1000 } });
    const f = llmFetch({ requests, tokens: '100000/1h', retry: false, fetch: () => answers.shift()!() });
    const ask = { method: 'POST', body: JSON.stringify({ messages: [], max_tokens: 10 }) };
    const calls = [f('https://llm.test/v1/chat/completions', ask), f('https://llm.test/v1/chat/completions', ask), f('https://llm.test/v1/chat/completions', ask)];
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(requests.stats().admitted, 1, 'only the first call has a request slot');
    release!();
    await Promise.all(calls);
    assert.equal(requests.stats().admitted, 3);
  });

  it('corrects the token window from usage, and gives back the tokens of a call aborted before it was sent', async () => {
    const usage = (total: number): Response => Response.json({ usage: { total_tokens: total } });
    let release: (() => void) | undefined;
    const answers = [
      () => Promise.resolve(usage(1)), // the first call goes alone (firstCallAlone): answered at once
      () => new Promise<Response>((resolve) => (release = () => resolve(usage(60)))),
      () => Promise.resolve(usage(10)),
    ];
    const tokens = new RateLimiter({ limits: { rate: '1000/1h', burst: 1000 } });
    const f = llmFetch({ tokens, concurrency: 1, retry: false, fetch: () => answers.shift()!() });
    const ask = { method: 'POST', body: JSON.stringify({ messages: [{ content: 'x'.repeat(400) }], max_tokens: 300 }) };
    await (await f('https://llm.test/v1/chat/completions', { ...ask, body: JSON.stringify({ messages: [], max_tokens: 1 }) })).arrayBuffer();
    const first = f('https://llm.test/v1/chat/completions', ask); // reserves 400, holds the one slot
    const controller = new AbortController();
    const second = f('https://llm.test/v1/chat/completions', { ...ask, signal: controller.signal }); // reserves 400, waits for the slot
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await tokens.tryAcquire(200)).granted, false, '1 + 800 of 1000 reserved');
    controller.abort();
    await assert.rejects(second, { name: 'AbortError' });
    release!();
    await first;
    // The first used 60 of its 400; the aborted one gave all its 400 back: 1 + 60 in the window.
    assert.equal((await tokens.tryAcquire(939)).granted, true);
  });
});

describe('llmFetch against the mock chat endpoint (timing check)', () => {
  it('timing check: 60 RPM / 10,000 TPM at timeScale 60 — no TPM violation, the token quota used', async (t) => {
    // timeScale 60: a mock minute is a real second, so the client's limits are per second.
    // 100 prompt tokens + max_tokens 300, answers use 30–100 % of it: ~295 tokens a call,
    // 34 calls a mock minute, so TPM binds, not RPM.
    await withMock({ timeScale: 60, chat: { requests: '60/1m', tokens: '10000/1m' } }, async (mock) => {
      // Cold: the very first call on a cold connection and code path reaches the mock's
      // admission ~30–50 ms after leaving, longer than the 20 ms margin; llmFetch sends it
      // alone and counts its tokens from its answer (TokenQuota firstCallAlone).
      const f = llmFetch({ requests: '60/1s', tokens: '10000/1s', retry: false });
      // Client and mock share one event loop: a stall longer than the 20 ms margin between a
      // start and the mock reading its body moves tokens across the mock's window edge. The
      // promise holds only while the loop keeps up, so it is checked only when it did.
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const body = JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 300 });
      const seconds = 4;
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), seconds * 1000);
      const call = (): Promise<Response | undefined> =>
        f(mock.endpoints.chat, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body, signal: stop.signal }).catch(() => undefined);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let res = await call(); res !== undefined; res = await call()) await res.arrayBuffer();
        }),
      );
      clearTimeout(timer);
      lag.disable();
      const worstLagMs = lag.max / 1e6;
      const stats = mock.stats();
      const used = stats.tokens.prompt + stats.tokens.completion;
      const share = used / (10_000 * seconds);
      t.diagnostic(JSON.stringify({ used, share, statuses: stats.statuses, violations: stats.violations, worstLagMs }));
      if (worstLagMs > 20) {
        t.diagnostic(`event loop stalled ${worstLagMs.toFixed(0)} ms (> the 20 ms margin): a timing check needs a machine that keeps up; not checked on this run`);
        return;
      }
      assert.equal(stats.violations.byLimit['chat:tokens'] ?? 0, 0, JSON.stringify(stats.violations));
      // The 95 % is met on a quiet machine (BENCHMARKS.md (HTTP section)); a loaded one
      // starts calls late, so the check holds 85 %.
      assert.ok(share >= 0.85, `used ${share} of the TPM`);
    });
  });
});
