// The README promises that the core has no runtime dependencies and that only `sluice/redis`
// loads ioredis. This walks the import graph of each entry point as Node would load it
// (type-only imports are erased by TypeScript, so they are skipped) and lists every package
// it reaches.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { importsOf } from './import-graph.js';

/** The packages (bare specifiers other than node: built-ins) loaded by `entry` and what it imports. */
function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (typeOnly) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:')) packages.add(specifier);
    }
  };
  visit(resolve(entry));
  return packages;
}

describe('package boundaries', () => {
  it('the main entry loads no package at all, ioredis included', () => {
    assert.deepEqual([...packagesReachedFrom('src/index.ts')], []);
  });

  it('the CLI loads ioredis only on demand, for --redis', () => {
    const reached = packagesReachedFrom('src/cli/main.ts');
    assert.deepEqual([...reached], ['ioredis'], 'only through the dynamic import in harvest-redis.ts');
    assert.match(readFileSync('src/cli/harvest-redis.ts', 'utf8'), /await import\(\s*'ioredis'\s*\)/);
  });

  it('sluice/redis needs nothing but ioredis, and takes it from the caller (types only)', () => {
    assert.deepEqual([...packagesReachedFrom('src/redis.ts')], []);
  });

  it('sluice/otel loads @opentelemetry/api and nothing else', () => {
    assert.deepEqual([...packagesReachedFrom('src/otel.ts')], ['@opentelemetry/api']);
  });

  it('sluice/undici loads no package: undici is the caller\'s, its types only are used', () => {
    assert.deepEqual([...packagesReachedFrom('src/undici.ts')], []);
    assert.match(readFileSync('src/http/undici-interceptor.ts', 'utf8'), /^import type \{[^}]*\} from 'undici';$/m);
  });

  it('the main entry does not reach the undici interceptor', () => {
    assert.doesNotMatch(readFileSync('src/index.ts', 'utf8'), /undici/);
  });
});
