import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { CircuitOpenError, ConfigError, RateLimitedError, SluiceError, StoreUnavailableError, TimeoutError } from '../../src/core/errors.js';

const SECRET = 'pw-5ecret-e77';

/** Every way an application commonly writes an error to its logs. */
function renderings(error: Error): string[] {
  return [error.message, String(error.stack), String(error), inspect(error), inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error)];
}

function assertSafe(error: Error): void {
  for (const text of renderings(error)) assert.equal(text.includes(SECRET), false, `the secret leaked: ${text}`);
}

describe('sluice errors show no credential', () => {
  it('ConfigError shows an object by its type, never its contents, and keeps no reference to it', () => {
    class FakeStore {
      readonly client = { options: { host: '127.0.0.1', password: SECRET } };
    }
    const store = new FakeStore();
    const error = new ConfigError('store', store, 'does not support charge()');
    assert.equal(error.message, 'store: does not support charge() (got FakeStore {…})');
    assert.equal(error.value, 'FakeStore {…}');
    assertSafe(error);
  });

  it('ConfigError shows a plain object by its keys, a string redacted, a number as given', () => {
    assert.equal(new ConfigError('options', { accessToken: SECRET, rate: '5/s' }, 'bad').message, 'options: bad (got {accessToken, rate})');
    const url = new ConfigError('url', `https://u:${SECRET}@api.test/x?api_key=${SECRET}`, 'bad');
    assert.equal(url.value, 'https://[redacted]:[redacted]@api.test/x?api_key=[redacted]');
    assertSafe(url);
    const count = new ConfigError('limit', 0, 'must be >= 1');
    assert.equal(count.value, 0);
    assert.equal(count.message, 'limit: must be >= 1 (got 0)');
  });

  it('an error built from a message that quotes a credential shows it redacted, stack included', () => {
    for (const error of [
      new SluiceError(`GET https://api.test/?token=${SECRET} failed`),
      new RateLimitedError(`Authorization: Bearer ${SECRET}`, 10),
      new CircuitOpenError(`password=${SECRET}`, 5),
      new TimeoutError(`{"clientSecret":"${SECRET}"}`, 100),
      new StoreUnavailableError(`redis://default:${SECRET}@127.0.0.1:6379 is down`, 25),
    ]) {
      assertSafe(error);
    }
  });

  it('util.inspect shows a cause by name and redacted message only, and the cause stays as given', () => {
    const request = { headers: { authorization: `Bearer ${SECRET}` } };
    const cause = Object.assign(new Error(`failed: https://api.test/?api_key=${SECRET}`), { config: request });
    const error = new RateLimitedError('retry-after too long', 1000);
    error.cause = cause;
    assertSafe(error);
    assert.match(inspect(error), /cause: 'Error: failed: https:\/\/api\.test\/\?api_key=\[redacted\]'/);
    assert.equal(error.cause, cause, 'the caller still gets its own error');
    const chained = new SluiceError('outer', { cause: new Error('middle', { cause: new Error(`inner Bearer ${SECRET}`) }) });
    assertSafe(chained);
    assert.match(inspect(chained), /middle ← Error: inner Bearer \[redacted\]/);
  });

  it('fields keep their values: retryAfterMs, timeoutMs, field', () => {
    const error = new RateLimitedError('rate limit: would wait 12 ms', 12);
    assert.equal(error.retryAfterMs, 12);
    assert.match(inspect(error), /retryAfterMs: 12/);
    assert.equal(new TimeoutError('slow', 50).timeoutMs, 50);
  });
});
