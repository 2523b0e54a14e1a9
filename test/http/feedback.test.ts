import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseFeedback, DEFAULT_MAX_RETRY_AFTER_MS, type Feedback } from '../../src/http/feedback/parse.js';
import { parseGoDuration, parseResetMs } from '../../src/core/http-time.js';
import { parseSfList } from '../../src/http/feedback/structured-fields.js';
import { AdaptiveRate } from '../../src/adaptive/adaptive-rate.js';
import { ManualClock } from '../../src/core/clock.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const at = (offsetMs: number): Date => new Date(NOW + offsetMs);
const parse = (status: number, headers: Record<string, string | string[]>, maxRetryAfterMs?: number): Feedback =>
  parseFeedback({ status, headers }, { now: NOW, maxRetryAfterMs });

/** The scalar part of a Feedback, for table comparisons. */
function summary(f: Feedback): Omit<Feedback, 'quotas'> {
  const { quotas: _quotas, ...rest } = f;
  return rest;
}

describe('parseFeedback: status and Retry-After', () => {
  const table: [string, number, Record<string, string>, Omit<Feedback, 'quotas'>][] = [
    ['200 with nothing', 200, {}, { throttled: false }],
    ['429 without a hint', 429, {}, { throttled: true }],
    ['503 is throttling', 503, {}, { throttled: true }],
    ['500 is not', 500, {}, { throttled: false }],
    ['403 alone is not', 403, {}, { throttled: false }],
    ['Retry-After seconds', 429, { 'Retry-After': '120' }, { throttled: true, retryAfterMs: 120_000 }],
    ['Retry-After decimal', 429, { 'retry-after': '1.5' }, { throttled: true, retryAfterMs: 1500 }],
    ['Retry-After HTTP-date', 503, { 'Retry-After': at(30_000).toUTCString() }, { throttled: true, retryAfterMs: 30_000 }],
    ['Retry-After date in the past', 429, { 'Retry-After': at(-60_000).toUTCString() }, { throttled: true, retryAfterMs: 0 }],
    ['Retry-After garbage', 429, { 'Retry-After': 'soon' }, { throttled: true }],
    ['Retry-After negative', 429, { 'Retry-After': '-5' }, { throttled: true }],
    ['Retry-After a negative year is no date', 429, { 'Retry-After': '-5000' }, { throttled: true }],
    ['Retry-After a date without a year is no date', 429, { 'Retry-After': 'May 1' }, { throttled: true }],
    ['Retry-After absurd is capped', 429, { 'Retry-After': '99999999999' }, { throttled: true, retryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS }],
    ['retry-after-ms wins over Retry-After', 429, { 'retry-after-ms': '250', 'retry-after': '1' }, { throttled: true, retryAfterMs: 250 }],
  ];
  for (const [name, status, headers, expected] of table) {
    it(name, () => assert.deepEqual(summary(parse(status, headers)), expected));
  }

  it('reads fetch Headers, repeated record values and any header case', () => {
    const headers = new Headers({ 'Retry-After': '3', 'X-RateLimit-Remaining': '7' });
    assert.deepEqual(summary(parseFeedback({ status: 429, headers }, { now: NOW })), { throttled: true, retryAfterMs: 3000, remaining: 7 });
    assert.equal(parse(200, { 'X-RATELIMIT-LIMIT': ['60', '60'], 'x-ratelimit-remaining': '0' }).remaining, 0);
  });

  it('honours maxRetryAfterMs', () => {
    assert.equal(parse(429, { 'retry-after': '3600' }, 5000).retryAfterMs, 5000);
  });
});

describe('parseFeedback: IETF RateLimit fields', () => {
  it('draft-11 structured fields: policy and service limit joined by name', () => {
    const f = parse(429, { 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=0;t=12' });
    assert.deepEqual(summary(f), { throttled: true, retryAfterMs: 12_000, limit: 100, windowMs: 60_000, remaining: 0, resetMs: 12_000 });
    assert.deepEqual(f.quotas, [{ dialect: 'ietf', name: 'default', unit: 'requests', limit: 100, remaining: 0, resetMs: 12_000, windowMs: 60_000 }]);
  });

  it('several policies: the shortest window paces; the one nearest exhaustion binds, and an exhausted one sets the wait', () => {
    const f = parse(200, {
      'RateLimit-Policy': '"burst";q=100;w=60, "daily";q=1000;w=86400',
      RateLimit: '"burst";r=80;t=30, "daily";r=0;t=500',
    });
    assert.deepEqual(summary(f), { throttled: false, retryAfterMs: 500_000, limit: 100, windowMs: 60_000, remaining: 0, resetMs: 500_000 });
    assert.equal(f.quotas.length, 2);
  });

  it('fields split over several lines, a partition key, a quota unit', () => {
    const f = parse(200, {
      'RateLimit-Policy': ['"peruser";q=65535;qu="content-bytes";w=10;pk=:c2x1aWNl:', '"req";q=10;w=1'],
      RateLimit: ['"peruser";r=1000;t=4;pk=:c2x1aWNl:', '"req";r=9;t=1'],
    });
    assert.deepEqual(summary(f), { throttled: false, limit: 10, windowMs: 1000, remaining: 9, resetMs: 1000 });
    assert.equal(f.quotas.find((q) => q.name === 'peruser')?.unit, 'content-bytes');
  });

  it('Retry-After takes precedence over the effective window', () => {
    assert.equal(parse(429, { RateLimit: '"default";r=0;t=50', 'Retry-After': '2' }).retryAfterMs, 2000);
  });

  it('malformed structured fields are ignored, as the draft requires', () => {
    for (const bad of ['"default";r=abc', '"default";r=5,', '("a" "b");r=1', '"unterminated;r=1', 'default;r=-1']) {
      const f = parse(200, { RateLimit: bad });
      assert.equal(f.remaining, undefined, bad);
    }
  });

  it('draft-07 dictionary form (and Close, which sends decimals and semicolons)', () => {
    assert.deepEqual(summary(parse(200, { RateLimit: 'limit=100, remaining=50, reset=5', 'RateLimit-Policy': '100;w=60' })), {
      throttled: false,
      limit: 100,
      windowMs: 60_000,
      remaining: 50,
      resetMs: 5000,
    });
    assert.deepEqual(summary(parse(200, { ratelimit: 'limit=100; remaining=0; reset=0.25' })), {
      throttled: false,
      retryAfterMs: 250,
      limit: 100,
      remaining: 0,
      resetMs: 250,
    });
  });

  it('draft-06 triple, with a list-shaped limit', () => {
    const f = parse(200, { 'RateLimit-Limit': '10, 10;w=1, 1000;w=3600', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '7', 'RateLimit-Policy': '10;w=1' });
    assert.deepEqual(summary(f), { throttled: false, retryAfterMs: 7000, limit: 10, windowMs: 1000, remaining: 0, resetMs: 7000 });
    assert.equal(f.quotas[0]!.windowMs, 1000);
  });
});

describe('parseFeedback: X-RateLimit-*', () => {
  it('GitHub: reset in epoch seconds; 403 with nothing left is throttling', () => {
    const reset = String(Math.floor((NOW + 1_800_000) / 1000));
    const f = parse(403, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset, 'x-ratelimit-used': '5000', 'x-ratelimit-resource': 'core' });
    assert.deepEqual(summary(f), { throttled: true, retryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS, limit: 5000, remaining: 0, resetMs: DEFAULT_MAX_RETRY_AFTER_MS });
    assert.equal(parse(403, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, 3_600_000).retryAfterMs, 1_800_000);
  });

  it('reset as delta seconds, epoch ms, a date, or in the past', () => {
    const reset = (value: string): number | undefined => parse(200, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': value }).resetMs;
    assert.equal(reset('42'), 42_000);
    assert.equal(reset(String(NOW + 9000)), 9000);
    assert.equal(reset(String((NOW + 9000) / 1000)), 9000);
    assert.equal(reset(at(4000).toUTCString()), 4000);
    assert.equal(reset(String(Math.floor(NOW / 1000) - 100)), 0);
    assert.equal(reset('Mon Nov 23 2026 13:00:05 GMT+0100 (Central European Standard Time)'), 5000); // lemlist's Date#toString
    assert.equal(reset(at(2000).toISOString()), 2000);
  });

  it('X-Rate-Limit-* spelling and Discord reset-after', () => {
    assert.deepEqual(summary(parse(429, { 'X-Rate-Limit-Limit': '10000', 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': '60' })), {
      throttled: true,
      retryAfterMs: 60_000,
      limit: 10000,
      remaining: 0,
      resetMs: 60_000,
    });
    assert.equal(parse(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '1.234', 'x-ratelimit-reset': '1470173023' }).retryAfterMs, 1234);
  });
});

describe('parseFeedback: OpenAI', () => {
  const headers = {
    'x-ratelimit-limit-requests': '5000',
    'x-ratelimit-remaining-requests': '4999',
    'x-ratelimit-reset-requests': '12ms',
    'x-ratelimit-limit-tokens': '160000',
    'x-ratelimit-remaining-tokens': '0',
    'x-ratelimit-reset-tokens': '6m0s',
  };
  it('request quota binds; exhausted tokens set the wait', () => {
    const f = parse(429, headers);
    assert.deepEqual(summary(f), { throttled: true, retryAfterMs: 360_000, limit: 5000, remaining: 4999, resetMs: 12 });
    assert.deepEqual(f.quotas.map((q) => [q.unit, q.remaining, q.resetMs]), [
      ['requests', 4999, 12],
      ['tokens', 0, 360_000],
    ]);
  });

  it('a 503 with quota left waits for no reset (the server is unwell, the quota is not spent)', () => {
    const f = parse(503, { 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '499', 'x-ratelimit-reset-requests': '2s' });
    assert.deepEqual(summary(f), { throttled: true, limit: 500, remaining: 499, resetMs: 2000 });
    assert.equal(parse(429, { 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '499', 'x-ratelimit-reset-requests': '2s' }).retryAfterMs, 2000, 'a 429 without Retry-After waits for the earliest reset');
  });

  it('Go durations', () => {
    const table: [string, number | undefined][] = [
      ['6m0s', 360_000], ['20ms', 20], ['1.5s', 1500], ['1h2m3.5s', 3_723_500], ['0s', 0], ['17', 17_000],
      ['250us', 0.25], ['6m0', undefined], ['m', undefined], ['', undefined], ['-1s', undefined], ['1s 2s', undefined],
    ];
    for (const [text, ms] of table) assert.equal(parseGoDuration(text), ms, text);
  });

  it("Azure's -1 means unknown", () => {
    const f = parse(200, { 'x-ratelimit-limit-tokens': '-1', 'x-ratelimit-remaining-tokens': '-1', 'x-ratelimit-reset-tokens': '0' });
    assert.deepEqual(f.quotas, [{ dialect: 'openai', name: 'tokens', unit: 'tokens', resetMs: 0 }]);
  });
});

describe('parseFeedback: Anthropic', () => {
  it('RFC 3339 resets; input and output token quotas', () => {
    const f = parse(429, {
      'retry-after': '9',
      'anthropic-ratelimit-requests-limit': '1000',
      'anthropic-ratelimit-requests-remaining': '999',
      'anthropic-ratelimit-requests-reset': at(60_000).toISOString(),
      'anthropic-ratelimit-tokens-limit': '96000',
      'anthropic-ratelimit-tokens-remaining': '0',
      'anthropic-ratelimit-tokens-reset': at(9000).toISOString(),
      'anthropic-ratelimit-input-tokens-limit': '80000',
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': '2026-11-23T12:00:08Z',
      'anthropic-ratelimit-output-tokens-limit': '16000',
      'anthropic-ratelimit-output-tokens-remaining': '16000',
      'anthropic-ratelimit-output-tokens-reset': '2026-11-23T12:00:00Z',
    });
    assert.deepEqual(summary(f), { throttled: true, retryAfterMs: 9000, limit: 1000, remaining: 999, resetMs: 60_000 });
    assert.deepEqual(f.quotas.map((q) => [q.unit, q.resetMs]), [
      ['requests', 60_000],
      ['tokens', 9000],
      ['input-tokens', 8000],
      ['output-tokens', 0],
    ]);
  });

  it('without Retry-After, the exhausted quota that resets last sets the wait', () => {
    const f = parse(429, {
      'anthropic-ratelimit-tokens-remaining': '0',
      'anthropic-ratelimit-tokens-reset': at(5000).toISOString(),
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': at(7000).toISOString(),
    });
    assert.equal(f.retryAfterMs, 7000);
  });
});

describe('parseFeedback: what AdaptiveRate needs', () => {
  it('the stated limit and its window at the top level: spread into AdaptiveRate.observe, the rate adopts it', async () => {
    const clock = new ManualClock();
    const adaptive = new AdaptiveRate(new RateLimiter({ limits: '200/1s', clock }), { clock });
    const feedback = parse(200, { 'RateLimit-Policy': '"default";q=50;w=1', RateLimit: '"default";r=49;t=1' });
    const step = adaptive.observe({ sentAt: 0, now: clock.now(), ...feedback });
    assert.equal(step.mode, 'stated');
    assert.equal(step.rate, 50 * 0.98 - 1, 'the stated 50/s less the margin and one request');
  });

  it('property: limit and windowMs are the request policy with the shortest window, whatever the order and the others', () => {
    const policy = fc.record({ q: fc.integer({ min: 1, max: 100_000 }), w: fc.integer({ min: 1, max: 86_400 }), unit: fc.constantFrom(undefined, 'requests', 'content-bytes') });
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 5 }), (policies) => {
        const field = policies.map((p, i) => `"p${i}";q=${p.q};w=${p.w}${p.unit === undefined ? '' : `;qu="${p.unit}"`}`).join(', ');
        const f = parse(200, { 'RateLimit-Policy': field });
        const requests = policies.filter((p) => p.unit !== 'content-bytes');
        const shortest = Math.min(...requests.map((p) => p.w));
        if (requests.length === 0) return assert.equal(f.windowMs, undefined);
        assert.equal(f.windowMs, shortest * 1000);
        assert.equal(f.limit, requests.find((p) => p.w === shortest)!.q);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseFeedback: never throws, every wait within [0, cap]', () => {
  const names = [
    'retry-after', 'retry-after-ms', 'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset',
    'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-rate-limit-reset',
    'x-ratelimit-reset-requests', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens',
    'anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-input-tokens-reset',
  ];
  const value = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.double().map(String),
    fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
    fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms).toUTCString()),
    fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => (Number.isNaN(new Date(ms).getTime()) ? 'x' : new Date(ms).toISOString())),
    fc.constantFrom('NaN', 'Infinity', '-0', '1e999', '0x10', ' 12 ', '6m0s', '99999h', '"default";r=0;t=99999999999', 'limit=1, remaining=0, reset=1e9', '日本', '\u0000'),
    fc.tuple(fc.nat(), fc.constantFrom('h', 'm', 's', 'ms', 'µs')).map(([n, u]) => `${n}${u}`),
  );
  const header = fc.tuple(fc.oneof(fc.constantFrom(...names), fc.string()), fc.oneof(value, fc.array(value, { maxLength: 3 })));
  const cap = fc.oneof(fc.constant(undefined), fc.nat({ max: 3_600_000 }));

  it('fuzz: arbitrary names, values, statuses and clocks', () => {
    fc.assert(
      fc.property(fc.array(header, { maxLength: 12 }), fc.integer({ min: -1, max: 1000 }), fc.oneof(fc.constant(NOW), fc.double()), cap, (pairs, status, now, max) => {
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of pairs) headers[k] = v;
        const limit = max ?? DEFAULT_MAX_RETRY_AFTER_MS;
        const f = parseFeedback({ status, headers }, { now, maxRetryAfterMs: max });
        for (const wait of [f.retryAfterMs, f.resetMs, ...f.quotas.map((q) => q.resetMs)]) {
          if (wait !== undefined) assert.ok(wait >= 0 && wait <= limit, `wait ${wait} outside [0, ${limit}]`);
        }
        for (const n of [f.limit, f.windowMs, f.remaining, ...f.quotas.flatMap((q) => [q.limit, q.remaining, q.windowMs])]) {
          if (n !== undefined) assert.ok(Number.isFinite(n) && n >= 0, `count ${n}`);
        }
        assert.equal(typeof f.throttled, 'boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('a Headers implementation that throws still yields a status-based answer', () => {
    const headers = { get(): string { throw new Error('boom'); } };
    assert.deepEqual(parseFeedback({ status: 429, headers }), { throttled: true, quotas: [] });
  });

  it('parseResetMs and parseSfList accept anything', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        parseResetMs(s, NOW);
        parseSfList(s);
      }),
    );
  });
});
