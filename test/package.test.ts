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
function packagesReachedFrom(entry: string, { dynamic = true } = {}): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const edge of importsOf(file)) {
      const { specifier, typeOnly } = edge;
      if (typeOnly || (edge.dynamic && !dynamic)) continue;
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

  it('the CLI loads ioredis only on demand, for --redis, a sink\'s driver only for that --sink, and yaml only for a .yaml source', () => {
    const reached = packagesReachedFrom('src/cli/main.ts');
    assert.deepEqual([...reached].sort(), ['@duckdb/node-api', 'hyparquet', 'hyparquet-writer', 'ioredis', 'pg', 'yaml'], 'only through the dynamic imports in harvest-redis.ts, sinks/ and source-file.ts');
    assert.match(readFileSync('src/cli/harvest-redis.ts', 'utf8'), /await import\(\s*'ioredis'\s*\)/);
    assert.deepEqual([...packagesReachedFrom('src/cli/source-file.ts')], ['yaml']);
    assert.match(readFileSync('src/cli/source-file.ts', 'utf8'), /await import\(\s*'yaml'\s*\)/);
  });

  it('each sink loads its own driver and nothing else, on demand; the rest of the harvest reaches them only through open-sink.ts', () => {
    assert.deepEqual([...packagesReachedFrom('src/harvest/sinks/postgres.ts')], ['pg']);
    assert.deepEqual([...packagesReachedFrom('src/harvest/sinks/duckdb.ts')], ['@duckdb/node-api']);
    assert.deepEqual([...packagesReachedFrom('src/harvest/sinks/parquet.ts')].sort(), ['hyparquet', 'hyparquet-writer']);
    assert.deepEqual([...packagesReachedFrom('src/harvest/sinks/ndjson.ts')], []);
    for (const [file, driver] of [['postgres', 'pg'], ['duckdb', '@duckdb/node-api'], ['parquet', 'hyparquet-writer']] as const) {
      const text = readFileSync(`src/harvest/sinks/${file}.ts`, 'utf8');
      assert.match(text, new RegExp(`await import\\(\\s*'${driver}'\\s*\\)`), `${file}.ts imports ${driver} when a writer opens`);
      assert.doesNotMatch(text, new RegExp(`^import (?!type )[^;]*from '${driver}';$`, 'm'), `${file}.ts has no static import of ${driver}`);
      assert.match(readFileSync('src/harvest/sinks/open-sink.ts', 'utf8'), new RegExp(`await import\\('\\./${file}\\.js'\\)`));
    }
    assert.deepEqual([...packagesReachedFrom('src/cli/main.ts', { dynamic: false })], [], 'the CLI loads no package until an option asks for one');
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
