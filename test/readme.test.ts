// The README's examples marked `<!-- runnable: prints X -->` are run as written (with
// `from 'sluice'` pointed at the source) and must print X: the front door stays true.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const RUNNABLE = /<!-- runnable: prints (.+?) -->\s*```ts\n([\s\S]*?)```/g;
const readme = readFileSync('README.md', 'utf8');
const source = pathToFileURL(resolve('src/index.ts')).href;
const examples = [...readme.matchAll(RUNNABLE)].map((m) => ({ expected: m[1]!, code: m[2]!.replaceAll("from 'sluice'", `from '${source}'`) }));

describe('README examples', () => {
  it('has runnable examples', () => assert.ok(examples.length > 0));
  for (const [i, { expected, code }] of examples.entries()) {
    it(`example ${i + 1} prints ${expected}`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-readme-'));
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
