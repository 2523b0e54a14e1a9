import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { TokenQuota } from '../../src/limiters/token-quota.js';
import { ManualClock } from '../../src/core/clock.js';
import { MemoryStore } from '../../src/store/memory.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { estimateChatTokens, llmFetch, type SluiceFetchEvent } from '../../src/http/index.js';
import { epochNow, logLoopStalls, stalledMsIn } from '../stall-log.js';
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

  it('gives back the unused tokens of a call whatever was admitted since, from that call: they free when it leaves the window, not sooner', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: '1000/1s', margin: 0, clock });
    const a = await quota.reserve(400); // at 0
    await clock.advance(500);
    await quota.reserve(400); // at 500, still running
    await quota.settle(a, 100); // a used 100: 300 come back, from a's start
    assert.equal((await quota.limiter.tryAcquire(500)).granted, true, '100 + 400 + 500');
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false, 'full');
    await clock.advance(499);
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false, "at 999 a's 100 are still counted, as the server counts them");
    await clock.advance(1);
    assert.equal((await quota.limiter.tryAcquire(100)).granted, true, "at 1000 a's start has left the window");
  });

  it("charges an under-estimate where the call started: the tokens leave the window with it", async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: '1000/1s', margin: 0, clock });
    const a = await quota.reserve(200); // at 0
    await clock.advance(300);
    await quota.settle(a, 700); // a used 700: 500 more, counted at 0
    assert.equal((await quota.limiter.tryAcquire(301)).granted, false, '700 + 301 > 1000');
    await clock.advance(700);
    assert.equal((await quota.limiter.tryAcquire(1000)).granted, true, 'at 1000 all of a has left, not at 1300');
  });

  it('a refused call (0 used) gives all back; unknown usage keeps the estimate', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: new RateLimiter({ limits: { rate: '1000/1m', burst: 1000 }, clock }) });
    await quota.settle(await quota.reserve(1000), 0);
    await quota.settle(await quota.reserve(1000), undefined);
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false);
  });

  it('lets small calls through as fast as the quota allows: every window admits its whole limit at once by default', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: '10000/1m', clock });
    const calls = Array.from({ length: 30 }, () => quota.reserve(300));
    await clock.advance(0);
    assert.equal((await Promise.all(calls)).length, 30, 'all 30 at once: 9,000 of 10,000');
    assert.equal(quota.limiter.stats().waiting, 0);
  });

  it('keeps several token limits (per minute and per day), every one enforced', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: ['1000/1m', { rate: '1500/1d' }], margin: 0, clock });
    await quota.reserve(1000);
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false, 'the minute is full');
    await clock.advance(60_000);
    assert.equal((await quota.limiter.tryAcquire(500)).granted, true, 'a new minute, 500 left of the day');
    assert.equal((await quota.limiter.tryAcquire(1)).granted, false, 'the day is full');
  });

  it("coldCalls 'answer': calls made before the first answer go at once, and count from their answers", async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: '1000/1s', margin: 0, clock, coldCalls: 'answer' });
    const [a, b] = await Promise.all([quota.reserve(300), quota.reserve(300)]);
    assert.ok(a.cold && b.cold, 'nobody waits for the first answer');
    await clock.advance(50);
    await quota.settle(a, 200); // answered at 50 ms: 200 tokens, counted from 50 ms
    const c = await quota.reserve(100);
    assert.equal(c.cold, false, 'an answer has been heard');
    await quota.settle(b, 100); // reserved cold: counted from its answer at 50 ms too
    await quota.settle(c, 100); // counted from its start, at 50 ms
    await clock.advance(960);
    assert.equal((await quota.limiter.tryAcquire(601)).granted, false, 'at 1010 ms the 400 counted from 50 ms remain');
    await clock.advance(50);
    assert.equal((await quota.limiter.tryAcquire(1000)).granted, true, 'gone at 1060 ms');
  });

  it('learns estimates that fall short: each is reserved times the largest recent shortfall, the excess given back', async () => {
    const clock = new ManualClock();
    const quota = new TokenQuota({ tokens: '1000/1s', clock });
    await quota.settle(await quota.reserve(100), 150); // used half as much again
    const next = await quota.reserve(100);
    assert.equal(next.start.units, 150, 'reserved at 1.5 times the estimate');
    await quota.settle(next, 90);
    assert.equal(next.start.units, 90, 'corrected to what it used');
    await clock.advance(1100); // the window (1.02 s with the margin) is empty again
    const huge = await quota.reserve(900);
    assert.equal(huge.start.units, 1000, 'scaled no further than the limits admit at once');
  });

  it('shares its limits through a store under a key: a fleet on one API key', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const a = new TokenQuota({ tokens: '1000/1s', store, key: 'tpm', clock });
    const b = new TokenQuota({ tokens: '1000/1s', store, key: 'tpm', clock });
    await a.reserve(700);
    assert.equal((await b.limiter.tryAcquire(301)).granted, false, "b sees a's 700");
    assert.equal((await b.limiter.tryAcquire(300)).granted, true);
  });

  it('refuses a store that cannot charge, before any call: an under-estimate could not be recorded', () => {
    const memory = new MemoryStore();
    const store = { reserve: memory.reserve.bind(memory), refund: memory.refund.bind(memory) };
    const limiter = new RateLimiter({ limits: '1000/1s', store });
    assert.throws(() => new TokenQuota({ tokens: limiter }), (e: unknown) => e instanceof ConfigError && e.field === 'tokens');
  });

  it('bad options and estimates are ConfigErrors naming the field', async () => {
    const field = (f: string) => (e: unknown) => e instanceof ConfigError && e.field === f;
    assert.throws(() => new TokenQuota({ tokens: 'lots' }), field('tokens'));
    assert.throws(() => new TokenQuota({ tokens: '10/1s', margin: 1 }), field('margin'));
    assert.throws(() => new TokenQuota({ tokens: '10/1s', coldCalls: 'never' as never }), field('coldCalls'));
    assert.throws(() => new TokenQuota({ tokens: { rate: '1000/1m', burst: 0 } }), field('tokens.burst'));
    assert.throws(() => new TokenQuota({ tokens: { rate: 'x' } }), field('tokens.rate'));
    assert.throws(() => new TokenQuota({ tokens: ['1000/1m', { rate: '9000/1d', burst: 10_000 }] }), field('tokens[1].burst'));
    assert.throws(() => llmFetch({ tokens: '10/1s', requests: 'x' }), field('requests'));
    assert.throws(() => llmFetch({ tokens: '10/1s', requests: { rate: '5/1s', burst: 9 } }), field('requests.burst'));
    assert.throws(() => llmFetch({ tokens: { rate: '10/1s', burst: -1 } }), field('tokens.burst'));
    await assert.rejects(new TokenQuota({ tokens: '10/1s' }).reserve(0), field('estimate'));
  });
});

describe('llmFetch accounting', () => {
  it('does not hold the other calls back for the first answer: each takes its request slot and goes', async () => {
    const usage = (total: number): Response => Response.json({ usage: { total_tokens: total } });
    let release: (() => void) | undefined;
    const answers = [() => new Promise<Response>((resolve) => (release = () => resolve(usage(5)))), () => Promise.resolve(usage(5)), () => Promise.resolve(usage(5))];
    const requests = new RateLimiter({ limits: { rate: '1000/1h', burst: 1000 } });
    const f = llmFetch({ requests, tokens: '100000/1h', retry: false, fetch: () => answers.shift()!() });
    const ask = { method: 'POST', body: JSON.stringify({ messages: [], max_tokens: 10 }) };
    const calls = [f('https://llm.test/v1/chat/completions', ask), f('https://llm.test/v1/chat/completions', ask), f('https://llm.test/v1/chat/completions', ask)];
    await Promise.all([calls[1], calls[2]]);
    assert.equal(requests.stats().admitted, 3, 'the second and third were answered while the first was not');
    release!();
    await Promise.all(calls);
  });

  it('reports a correction its store cannot take as a quota event, and still returns the answer', async () => {
    const memory = new MemoryStore();
    const store = {
      reserve: memory.reserve.bind(memory),
      refund: memory.refund.bind(memory),
      charge: () => Promise.reject(new StoreUnavailableError('Redis is unavailable; 40 units used were not recorded', 25)),
    };
    const tokens = new RateLimiter({ limits: { rate: '1000/1h', burst: 1000 }, store });
    const events: SluiceFetchEvent[] = [];
    // every answer uses 50 tokens, 40 more than the 10 reserved: a charge
    const f = llmFetch({ tokens, retry: false, estimate: () => 10, onEvent: (e) => events.push(e), fetch: () => Promise.resolve(Response.json({ usage: { total_tokens: 50 } })) });
    const res = await f('https://llm.test/v1/chat/completions', { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    const quota = events.find((e) => e.type === 'quota');
    assert.ok(quota && quota.type === 'quota' && /40 units used were not recorded/.test(quota.error), JSON.stringify(events));
  });

  it('corrects the token window from usage, and gives back the tokens of a call aborted before it was sent', async () => {
    const usage = (total: number): Response => Response.json({ usage: { total_tokens: total } });
    let release: (() => void) | undefined;
    const answers = [
      () => Promise.resolve(usage(1)), // answered at once: the calls after it are warm, counted from their starts
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
      // Cold: the very first calls on a cold connection and code path reach the mock's
      // admission ~30–50 ms after leaving, longer than the 20 ms margin; llmFetch counts the
      // tokens of every call made before the first answer from its answer (TokenQuota
      // coldCalls 'answer').
      const f = llmFetch({ requests: '60/1s', tokens: '10000/1s', retry: false });
      // Client and mock share one event loop: a stall longer than the 20 ms margin between a
      // start and the mock reading its body moves tokens across the mock's window edge — what
      // the margin does not claim to cover, so a violation is allowed only past such a stall.
      // And while the loop stands still nothing is sent: the share is of the time it ran.
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const stalls = logLoopStalls();
      const startedAt = epochNow();
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
      const runningSeconds = seconds - stalledMsIn(stalls.stop(), startedAt, seconds * 1000) / 1000;
      const stats = mock.stats();
      const used = stats.tokens.prompt + stats.tokens.completion;
      const share = used / (10_000 * runningSeconds);
      t.diagnostic(JSON.stringify({ used, share, runningSeconds, statuses: stats.statuses, violations: stats.violations, worstLagMs }));
      const over = stats.violations.byLimit['chat:tokens'] ?? 0;
      assert.ok(over === 0 || worstLagMs > 20, `${over} calls over the TPM with no stall past the 20 ms margin (longest ${worstLagMs.toFixed(0)} ms)`);
      // The 95 % is met on a quiet machine (BENCHMARKS.md (HTTP section)); the first
      // calls' cold start and the last calls cut by the 4 s end take their share of a short run.
      assert.ok(share >= 0.85, `used ${share} of the TPM over the ${runningSeconds.toFixed(2)} s the process ran`);
    });
  });
});
