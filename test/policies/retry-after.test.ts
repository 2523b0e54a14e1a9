import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitOpenError, RateLimitedError } from '../../src/core/errors.js';
import { isTransient, parseRetryAfter, retryAfterOf } from '../../src/policies/index.js';
import { httpError } from './helpers.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter(' 1.5 ', NOW), 1500);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 12:01:30 GMT', NOW), 90_000);
  });

  it('a date in the past is 0; garbage is undefined', () => {
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', NOW), 0);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
    assert.equal(parseRetryAfter('-5', NOW), undefined);
  });
});

describe('retryAfterOf', () => {
  it('finds retryAfterMs on sluice refusals and on any object', () => {
    assert.equal(retryAfterOf(new RateLimitedError('x', 250)), 250);
    assert.equal(retryAfterOf(new CircuitOpenError('x', Number.POSITIVE_INFINITY)), Number.POSITIVE_INFINITY);
    assert.equal(retryAfterOf({ retryAfterMs: -3 }), 0);
  });

  it('reads Retry-After from a fetch Response, a plain header record (any case), an error.response or error.cause', () => {
    assert.equal(retryAfterOf(new Response('', { status: 429, headers: { 'Retry-After': '7' } }), NOW), 7000);
    assert.equal(retryAfterOf({ status: 503, headers: { 'Retry-After': ['2'] } }, NOW), 2000);
    assert.equal(retryAfterOf(httpError(429, { 'retry-after': '3' }), NOW), 3000);
    assert.equal(retryAfterOf(new Error('wrapped', { cause: httpError(429, { 'retry-after': '4' }) }), NOW), 4000);
  });

  it('is undefined when there is no hint', () => {
    assert.equal(retryAfterOf(new Error('x')), undefined);
    assert.equal(retryAfterOf(new Response('', { status: 503 })), undefined);
    assert.equal(retryAfterOf('text'), undefined);
    assert.equal(retryAfterOf(null), undefined);
  });
});

describe('isTransient', () => {
  it('retries Response-like results only for the retryable statuses', () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isTransient({ ok: true, value: new Response('', { status }) }), true, String(status));
    for (const status of [200, 400, 401, 404, 501]) assert.equal(isTransient({ ok: true, value: new Response('', { status }) }), false, String(status));
    assert.equal(isTransient({ ok: true, value: { status: 503 } }), false, 'not a response without headers');
  });

  it('uses statusCode too, and a refusal that can never succeed is not transient', () => {
    assert.equal(isTransient({ ok: false, error: Object.assign(new Error('x'), { statusCode: 502 }) }), true);
    assert.equal(isTransient({ ok: false, error: new RateLimitedError('forever', Number.POSITIVE_INFINITY) }), false);
  });
});
