import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { githubSource } from './github-source.js';

// Ajv 6 (draft-07), as editors read the schema.
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const schema = JSON.parse(readFileSync(new URL('../../../schema/harvest-config.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);
const ENV = { GITHUB_TOKEN: 't0ken-value', KEY: 'k3y-value', SECRET: 's3cret-value' };

const base = 'http://127.0.0.1:9';
const good: Record<string, unknown>[] = [
  githubSource(base),
  { client: { baseUrl: base }, resources: { records: { path: '/records', pagination: { type: 'offset', limit: 50 }, items: 'results' } } },
  { client: { baseUrl: base, auth: { type: 'apiKey', name: 'api_key', in: 'query', value: '{env.KEY}' }, budgets: [{ name: 'search', rate: '30/1m', match: 'GET /search/**', weight: 2 }] }, resources: { search: { path: '/search', pagination: { type: 'cursor', cursorPath: 'next_cursor' } } } },
  { client: { baseUrl: base, auth: { type: 'oauth2', tokenUrl: `${base}/oauth/token`, clientId: 'app', clientSecret: '{env.SECRET}', refreshBefore: '30s' } }, defaults: { pagination: { type: 'page', pageParam: 'page', limitParam: 'per_page' } }, resources: { a: '/a', b: { path: '/a/{resources.a.id}/b', include: 'id' } } },
  { client: { baseUrl: base, rate: ['5000/1h', '100/1m'], concurrency: 4, timeout: '10s', maxBody: '8mb' }, resources: { events: { path: '/events', pagination: { type: 'link' }, incremental: { cursorPath: 'id', param: 'after', initialValue: 0, lag: 10 } } } },
  { client: { baseUrl: base }, defaults: { pagination: { type: 'link' } }, resources: { repos: '/repos', issues: { path: '/search/issues', method: 'POST', body: { repo: '{resources.repos.name}', labels: ['bug'], first: 50 } } } },
];
const bad: [string, Record<string, unknown>][] = [
  ['resources', { client: { baseUrl: base } }],
  ['client.baseUrl', { client: { baseUrl: 'ftp://x' }, resources: { a: { path: '/a', pagination: { type: 'link' } } } }],
  ['client.auth.token', { client: { baseUrl: base, auth: { type: 'bearer', token: 'literal-secret' } }, resources: { a: { path: '/a', pagination: { type: 'link' } } } }],
  ['client.rate', { client: { baseUrl: base, rate: 'fast' }, resources: { a: { path: '/a', pagination: { type: 'link' } } } }],
  ['client.budgets[0].match', { client: { baseUrl: base, budgets: [{ rate: '1/s', match: 'search' }] }, resources: { a: { path: '/a', pagination: { type: 'link' } } } }],
  ['resources.a.pagination.type', { client: { baseUrl: base }, resources: { a: { path: '/a', pagination: { type: 'scroll' } } } }],
  ['resources.a.primary_key', { client: { baseUrl: base }, resources: { a: { path: '/a', pagination: { type: 'link' }, primary_key: 'id' } } }],
  ['resources.a.method', { client: { baseUrl: base }, resources: { a: { path: '/a', pagination: { type: 'link' }, method: 'DELETE' } } }],
  ['resources.a.incremental.initialValue', { client: { baseUrl: base }, resources: { a: { path: '/a', pagination: { type: 'link' }, incremental: { cursorPath: 'id', param: 'since' } } } }],
];

describe('the source file: the shipped JSON Schema and the checker agree', () => {
  for (const [i, config] of good.entries()) {
    it(`accepts example ${i + 1} both ways`, () => {
      assert.ok(validate(config), JSON.stringify(validate.errors));
      assert.doesNotThrow(() => parseSourceConfig(config, ENV));
    });
  }
  for (const [field, config] of bad) {
    it(`refuses a bad ${field} both ways, the checker naming it`, () => {
      assert.equal(validate(config), false);
      assert.throws(() => parseSourceConfig(config, ENV), (error: unknown) => error instanceof ConfigError && error.field === field);
    });
  }

  it('never shows a secret in an error', () => {
    const config = { client: { baseUrl: base, auth: { type: 'bearer', token: 'ghp_literal-secret-value' } }, resources: { a: { path: '/a', pagination: { type: 'link' } } } };
    assert.throws(() => parseSourceConfig(config, ENV), (error: unknown) => error instanceof Error && !error.message.includes('ghp_literal'));
  });

  it('refuses a child whose parent is not a resource, and a cycle', () => {
    const orphan = { client: { baseUrl: base }, resources: { b: { path: '/x/{resources.a.id}', pagination: { type: 'link' } } } };
    assert.throws(() => parseSourceConfig(orphan, ENV), /resources\.b\.path: names resources\.a, which is not a resource/);
    const cycle = { client: { baseUrl: base }, defaults: { pagination: { type: 'link' } }, resources: { a: '/a/{resources.b.id}', b: '/b/{resources.a.id}' } };
    assert.throws(() => parseSourceConfig(cycle, ENV), /cycle of parents/);
  });
});
