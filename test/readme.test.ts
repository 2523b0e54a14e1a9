// Examples in README.md and docs/*.md marked `<!-- runnable: prints X -->` are run as
// written (with `from 'sluice'` pointed at the source) and must print X: the docs stay true.
// Every name a document imports from 'sluice' or 'sluice/redis' must be one the entry
// exports, and the README's first screen is the one it promises (install, then an example).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
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

const ENTRIES: Record<string, string> = { sluice: 'src/index.ts', 'sluice/redis': 'src/redis.ts' };
const IMPORT = /^import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'(sluice(?:\/redis)?)'/gm;

/** Every `import { … } from 'sluice…'` in the documents' code blocks, one entry per name. */
const imported = documents.flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((name) => name.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)
      .filter(Boolean)
      .map((name) => ({ file, name, entry: m[2]! })),
  ),
);

/** The names (values and types) each public entry exports, as TypeScript resolves them. */
function exportedNames(): Record<string, Set<string>> {
  const program = ts.createProgram(Object.values(ENTRIES), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    Object.entries(ENTRIES).map(([entry, file]) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      return [entry, new Set(checker.getExportsOfModule(module).map((symbol) => symbol.name))];
    }),
  );
}

describe('README.md and docs/ name only what the package exports', () => {
  it('every name imported from sluice or sluice/redis is exported by that entry', () => {
    assert.ok(imported.length > 0);
    const exported = exportedNames();
    const missing = imported.filter(({ entry, name }) => !exported[entry]!.has(name)).map(({ file, name, entry }) => `${file}: ${name} from '${entry}'`);
    assert.deepEqual(missing, []);
  });
});

describe("the README's front door", () => {
  const readme = readFileSync('README.md', 'utf8');
  const sections = readme.split(/^## /m);

  it('opens with the install command, then a runnable example, before any other section', () => {
    const firstScreen = sections[0]!;
    assert.ok(firstScreen.includes('npm install sluice'));
    assert.ok(firstScreen.indexOf('npm install sluice') < firstScreen.indexOf('<!-- runnable:'));
  });

  it("keeps the contributor's commands under their own heading, and CI runs npm test", () => {
    const development = sections.find((s) => s.startsWith('Development'));
    assert.ok(development, 'a "## Development" section');
    for (const command of ['npm ci && npm start', 'npm test', 'npm run typecheck', 'npm run lint']) assert.ok(development.includes(command), command);
    assert.match(readFileSync('.ci/run', 'utf8'), /^npm test$/m);
  });

  it('links the architecture notes', () => assert.ok(readme.includes('(docs/architecture.md)')));
});

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
