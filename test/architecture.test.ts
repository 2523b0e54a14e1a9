// The rooms of src/ and their order (docs/architecture.md): a room imports only rooms below
// it, type-only imports included, so a newcomer can read the code bottom-up and change a
// lower room without reading the ones above. The entry files may import any room.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { importsOf } from './import-graph.js';

/** Lowest first. */
const ROOMS = ['core', 'algorithms', 'store', 'limiters', 'adaptive', 'policies', 'flow', 'http', 'harvest', 'cli', 'otel'];
const ENTRIES = ['index.ts', 'redis.ts', 'otel.ts', 'undici.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const roomOf = (file: string): string => relative('src', file).split('/')[0]!;

describe('architecture', () => {
  it('every file under src/ is an entry or lives in one of the rooms', () => {
    const strays = sourceFiles('src').filter((f) => !ENTRIES.includes(relative('src', f)) && !ROOMS.includes(roomOf(f)));
    assert.deepEqual(strays, []);
  });

  it('no room imports a room above it', () => {
    const upward: string[] = [];
    for (const file of sourceFiles('src')) {
      const from = ROOMS.indexOf(roomOf(file));
      if (from < 0) continue;
      for (const { specifier } of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = resolve(dirname(file), specifier);
        const to = ROOMS.indexOf(roomOf(relative(process.cwd(), target)));
        if (to > from) upward.push(`${file} imports ${specifier}`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it('the algorithms are pure: no clock, timer, promise or I/O', () => {
    const impure = sourceFiles('src/algorithms').filter(
      (file) =>
        importsOf(file).some(({ specifier }) => specifier.startsWith('node:') || /core\/(clock|wait-queue|until-aborted)/.test(specifier)) ||
        /\b(setTimeout|setInterval|setImmediate|Promise|performance|Date\.now|Math\.random)\b/.test(readFileSync(file, 'utf8')),
    );
    assert.deepEqual(impure, []);
  });
});
