// Examples in README.md and docs/*.md marked `<!-- runnable: prints X -->` are run as
// written (with `from 'sluice'` pointed at the source) and must print X: the docs stay true.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { skipRedis } from './store/redis/redis-available.js';

const RUNNABLE = /<!-- runnable: prints (.+?) -->\s*```ts\n([\s\S]*?)```/g;
const documents = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const source = pathToFileURL(resolve('src/index.ts')).href;
const redisSource = pathToFileURL(resolve('src/redis.ts')).href;
const examples = documents.flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(RUNNABLE)].map((m) => ({
    file,
    expected: m[1]!,
    code: m[2]!.replaceAll("from 'sluice'", `from '${source}'`).replaceAll("from 'sluice/redis'", `from '${redisSource}'`),
  })),
);

mkdirSync(join('node_modules', '.cache'), { recursive: true });

describe('runnable examples in README.md and docs/', () => {
  it('the README has runnable examples', () => assert.ok(examples.some((e) => e.file === 'README.md')));
  for (const { file, expected, code } of examples) {
    // Examples that talk to Redis follow the Redis tests' rule: skipped without it, failed under CI=true.
    const skip = code.includes(redisSource) ? skipRedis : false;
    it(`${file}: example prints ${expected}`, { skip }, () => {
      // Inside the repository so that `import … from 'ioredis'` finds node_modules.
      const dir = mkdtempSync(join('node_modules', '.cache', 'sluice-readme-'));
      try {
        const file = join(dir, 'example.mts');
        writeFileSync(file, code);
        const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(out.trim().split('\n').at(-1), expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
