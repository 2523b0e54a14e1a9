import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { constant } from '../../src/policies/backoff.js';
import { retry } from '../../src/policies/retry.js';
import { sluiceFetch, type FetchFn, type SluiceFetchEvent } from '../../src/http/index.js';
import { drive } from '../flow/helpers.js';
import { track } from '../policies/helpers.js';

/** A server double on the clock: answers each request from `answer`, recording when it was sent. */
function server(clock: ManualClock, answer: (n: number) => Response): FetchFn & { sentAt: number[] } {
  const sentAt: number[] = [];
  const fn: FetchFn = async () => {
    sentAt.push(clock.now());
    return answer(sentAt.length);
  };
  return Object.assign(fn, { sentAt });
}

const throttled = (seconds: number): Response => new Response('slow down', { status: 429, headers: { 'retry-after': String(seconds) } });

describe('sluiceFetch: maxRetryAfter and long Retry-After hints', () => {
  it("maxRetryAfter '2s' against Retry-After: 10 returns the 429 at once, without waiting 10 s", async () => {
    const clock = new ManualClock();
    const api = server(clock, (n) => (n === 1 ? throttled(10) : new Response('ok')));
    const events: SluiceFetchEvent[] = [];
    const f = sluiceFetch({ clock, fetch: api, maxRetryAfter: '2s', onEvent: (e) => events.push(e) });
    const call = track(f('https://api.test/x'));
    await clock.advance(0);
    assert.equal(call.settled, true, 'answered with no time passing');
    assert.equal((call.value as Response).status, 429);
    assert.deepEqual(api.sentAt, [0], 'not retried');
    assert.deepEqual(events.map((e) => e.type), ['response'], 'no retry scheduled');
  });

  it('the pause that holds back the other requests is cut to maxRetryAfter', async () => {
    const clock = new ManualClock();
    const api = server(clock, (n) => (n === 1 ? throttled(10) : new Response('ok')));
    const f = sluiceFetch({ clock, fetch: api, maxRetryAfter: '2s' });
    await f('https://api.test/first');
    const next = track(f('https://api.test/second'));
    await clock.advance(1999);
    assert.deepEqual(api.sentAt, [0], 'the server asked for a pause: held back');
    await clock.advance(1);
    assert.deepEqual(api.sentAt, [0, 2000], 'held 2 s, not 10 s');
    assert.equal((next.value as Response).status, 200);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a hint within maxRetryAfter is waited for whole, then retried', async () => {
    const clock = new ManualClock();
    const api = server(clock, (n) => (n === 1 ? throttled(1) : new Response('ok')));
    const call = track(sluiceFetch({ clock, fetch: api, maxRetryAfter: '2s' })('https://api.test/x'));
    await clock.advance(999);
    assert.deepEqual(api.sentAt, [0]);
    await clock.advance(1);
    assert.deepEqual(api.sentAt, [0, 1000]);
    assert.equal((call.value as Response).status, 200);
  });

  it('a hint above retry.maxDelayMs returns the 429 as a Response, not a thrown RateLimitedError', async () => {
    const clock = new ManualClock();
    const api = server(clock, () => throttled(10));
    const call = track(sluiceFetch({ clock, fetch: api, retry: { maxDelayMs: '5s' } })('https://api.test/x'));
    await clock.advance(0);
    assert.equal(call.error, undefined);
    assert.equal((call.value as Response).status, 429);
    assert.equal(await (call.value as Response).text(), 'slow down', 'the body is the caller’s to read');
    assert.deepEqual(api.sentAt, [0]);
  });

  it('a 503 with a long Retry-After comes back at once too', async () => {
    const clock = new ManualClock();
    const api = server(clock, () => new Response('', { status: 503, headers: { 'retry-after': '120' } }));
    const call = track(sluiceFetch({ clock, fetch: api })('https://api.test/x'));
    await clock.advance(0);
    assert.equal((call.value as Response).status, 503);
    assert.deepEqual(api.sentAt, [0]);
  });

  it('a RetryPolicy whose maxDelayMs is longer than maxRetryAfter is refused with ConfigError naming retry, before any request', () => {
    const api = server(new ManualClock(), () => new Response('ok'));
    assert.throws(
      () => sluiceFetch({ fetch: api, retry: retry({ maxDelayMs: '30s' }), maxRetryAfter: '2s' }),
      (e: unknown) => e instanceof ConfigError && e.field === 'retry' && /maxDelayMs \(30000 ms\).*maxRetryAfter \(2000 ms\)/.test(e.message),
    );
    assert.throws(() => sluiceFetch({ fetch: api, retry: retry({ maxDelayMs: '2m' }) }), (e: unknown) => e instanceof ConfigError && e.field === 'retry', 'the 60 s default counts too');
    assert.doesNotThrow(() => sluiceFetch({ fetch: api, retry: retry({ maxDelayMs: '1s' }), maxRetryAfter: '2s' }));
    assert.deepEqual(api.sentAt, []);
  });

  it('property: no request waits longer than min(maxRetryAfter, retry.maxDelayMs) for a hint, and none undercuts one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 15_000 }),
        fc.integer({ min: 0, max: 15_000 }),
        async (hints, maxRetryAfter, maxDelayMs) => {
          const clock = new ManualClock();
          const api = server(clock, (n) => (n <= hints.length ? throttled(hints[n - 1]!) : new Response('ok')));
          const f = sluiceFetch({ clock, fetch: api, maxRetryAfter, retry: { attempts: hints.length + 1, maxDelayMs, backoff: constant(0), budget: false } });
          let answeredAt = Number.NaN;
          const response = await drive(clock, f('https://api.test/x').finally(() => (answeredAt = clock.now())));
          const ceiling = Math.min(maxRetryAfter, maxDelayMs);
          for (let i = 1; i < api.sentAt.length; i++) {
            const gap = api.sentAt[i]! - api.sentAt[i - 1]!;
            const hintMs = hints[i - 1]! * 1000;
            assert.ok(gap >= hintMs, `retry ${i} after ${gap} ms undercuts the hint of ${hintMs} ms`);
            assert.ok(gap <= ceiling, `retry ${i} after ${gap} ms waited past ${ceiling} ms`);
          }
          const stop = hints.findIndex((h) => h * 1000 > ceiling);
          if (stop >= 0) {
            assert.equal(api.sentAt.length, stop + 1, 'the first hint past the ceiling ends the retries');
            assert.equal(response.status, 429);
            assert.equal(answeredAt, api.sentAt[stop], 'answered at once, without waiting for the hint');
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
