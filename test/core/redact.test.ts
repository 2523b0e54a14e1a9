import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretName, redactHeaders, redactText, redactUrl, safeValue, showValue } from '../../src/core/redact.js';

describe('isSecretName', () => {
  it('knows a credential by its last word, in every case style', () => {
    const secret = [
      'Authorization',
      'proxy-authorization',
      'Cookie',
      'Set-Cookie',
      'X-Api-Key',
      'x-auth-token',
      'api_key',
      'apiKey',
      'APIKey',
      'apikey',
      'access_token',
      'accessToken',
      'accesstoken',
      'apiToken',
      'refresh-token',
      'client_secret',
      'clientSecret',
      'clientsecret',
      'password',
      'dbPassword',
      'X-Amz-Signature',
      'X-Amz-Credential',
      'sig',
      'code',
      'key',
    ];
    for (const name of secret) assert.equal(isSecretName(name), true, name);
  });

  it('leaves other names, cursors among them (a resumed listing needs its cursor)', () => {
    const plain = ['page', 'limit', 'cursor', 'max_tokens', 'x-ratelimit-remaining-tokens', 'monkey', 'page_token', 'pageToken', 'nextPageToken', 'NextToken', 'startKey', 'LastEvaluatedKey', 'pagetoken', 'zip_code', 'content-type', ''];
    for (const name of plain) assert.equal(isSecretName(name), false, name);
  });
});

describe('redactUrl', () => {
  it('redacts user, password, secret query and fragment values, and keeps the rest', () => {
    assert.equal(redactUrl('https://alice:pw@api.test/x?page=2&api_key=k1&accessToken=t1'), 'https://[redacted]:[redacted]@api.test/x?page=2&api_key=[redacted]&accessToken=[redacted]');
    assert.equal(redactUrl('https://app.test/cb#access_token=t2&state=s'), 'https://app.test/cb#access_token=[redacted]&state=s');
    assert.equal(redactUrl('https://api.test/x?pageToken=p1'), 'https://api.test/x?pageToken=p1');
  });

  it('redacts unparseable input whole', () => {
    assert.equal(redactUrl('not a url with secret'), '[redacted]');
  });
});

describe('redactHeaders', () => {
  it('keeps names and redacts secret values', () => {
    assert.deepEqual(redactHeaders({ Authorization: 'Bearer t', 'X-Api-Key': 'k', 'Content-Type': 'text/plain' }), {
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'content-type': 'text/plain',
    });
  });
});

describe('redactText', () => {
  const cases: Array<[string, string]> = [
    ['failed for https://bob:pw1@api.test/x?access_token=t9 after 3 tries', 'failed for https://[redacted]:[redacted]@api.test/x?access_token=[redacted] after 3 tries'],
    ['Authorization: Bearer abc.def', 'Authorization: [redacted]'],
    ['sent Bearer abc.def-ghi to the server', 'sent Bearer [redacted] to the server'],
    ['header was Basic YWxpY2U6cHc=', 'header was Basic [redacted]'],
    ['X-Api-Key: k-123', 'X-Api-Key: [redacted]'],
    ['api_key=k1&page=2', 'api_key=[redacted]&page=2'],
    ['redis password=hunter2 db=0', 'redis password=[redacted] db=0'],
    ['{"clientSecret":"s3","name":"n"}', '{"clientSecret":"[redacted]","name":"n"}'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'token [redacted]'],
    ['key sk-proj-abcdefghijklmnop1234', 'key [redacted]'],
  ];
  for (const [text, shown] of cases) {
    it(`shows ${JSON.stringify(text)} as ${JSON.stringify(shown)}`, () => assert.equal(redactText(text), shown));
  }

  it('leaves prose that only names a field alone, and is idempotent', () => {
    const prose = 'key: must be a non-empty string (got "") — rate limit: would wait 12 ms, more than maxWaitMs';
    assert.equal(redactText(prose), prose);
    const once = redactText('Authorization: Bearer x1 at https://u:p@h.test/?token=t');
    assert.equal(redactText(once), once);
  });
});

describe('showValue and safeValue', () => {
  it('show primitives as written and strings quoted, redacted and cut', () => {
    assert.equal(showValue(5), '5');
    assert.equal(showValue(Number.NaN), 'NaN');
    assert.equal(showValue(undefined), 'undefined');
    assert.equal(showValue(null), 'null');
    assert.equal(showValue(10n), '10n');
    assert.equal(showValue('x/s'), '"x/s"');
    assert.equal(showValue('https://u:p@h.test/'), '"https://[redacted]:[redacted]@h.test/"');
    assert.equal(showValue('a'.repeat(500)).length, 122, '120 characters and the quotes');
  });

  it('never show an object’s contents: plain objects by keys, other objects by type', () => {
    class Store {
      readonly client = { options: { password: 'p' } };
    }
    assert.equal(showValue({ rate: '5/s', burst: 9 }), '{rate, burst}');
    assert.equal(showValue(new Store()), 'Store {…}');
    assert.equal(showValue(new AbortController().signal), 'AbortSignal {…}');
    assert.equal(showValue(new Headers({ authorization: 'Bearer t' })), 'Headers {…}');
    assert.equal(showValue(['1/s', { rate: 'x' }, [1]]), '["1/s", {…}, […1]]');
    assert.equal(showValue(() => 1), 'function');
    assert.equal(showValue(Object.create(null)), '{}');
  });

  it('survive hostile objects', () => {
    const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('boom'); } });
    assert.equal(showValue(hostile), 'object');
  });

  it('safeValue keeps primitives and keeps no reference to an object', () => {
    assert.equal(safeValue(3), 3);
    assert.equal(safeValue(null), null);
    assert.equal(safeValue('Bearer abcdef'), 'Bearer [redacted]');
    assert.equal(safeValue({ password: 'p' }), '{password}');
  });
});
