// The package as npm users get it: `npm pack`, unpacked into a fresh project, type-checked
// under each module resolution a TypeScript user may have (nodenext, bundler, node10) with
// exactOptionalPropertyTypes (an optional value passed on as it is must compile), and
// its command run from the installed files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve('.');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const USER_CODE = `
import { RateLimiter, ConcurrencyLimiter, sluiceFetch, retry } from 'sluice';
import { RedisStore } from 'sluice/redis';
import { instrument } from 'sluice/otel';
import { sluiceInterceptor } from 'sluice/undici';
import { Agent } from 'undici';

// Optional values passed on as they are: fine under exactOptionalPropertyTypes.
declare const maybeSignal: AbortSignal | undefined;
declare const maybeCost: number | undefined;
declare const maybeName: string | undefined;

const limiter = new RateLimiter({ limits: '10/1s', name: maybeName, queueSize: undefined });
const pool = new ConcurrencyLimiter({ limit: Infinity, queueSize: undefined });
const fetcher = sluiceFetch({ rate: '5/1s', timeout: undefined, onEvent: undefined });
const policy = retry({ attempts: 3, maxDelayMs: undefined });
const agent = new Agent().compose(sluiceInterceptor({ rate: '5/1s', concurrency: 2, onEvent: undefined }));
export async function call(): Promise<void> {
  await limiter.acquire({ signal: maybeSignal, cost: maybeCost, priority: undefined });
  await pool.run(() => 1, { signal: maybeSignal });
}
export const used: unknown[] = [limiter, pool, fetcher, policy, RedisStore, agent, instrument];
`;

describe('the packed package, installed', { timeout: 120_000 }, () => {
  let project = '';

  before(() => {
    project = mkdtempSync(join(tmpdir(), 'sluice-install-'));
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    const installed = join(project, 'node_modules', 'sluice');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(project, tarball), '-C', installed, '--strip-components', '1']);
    // Its optional peers and Node's types, as the user's project would have them.
    for (const dep of ['ioredis', 'undici', '@opentelemetry', '@types']) symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user', type: 'module', private: true }));
    writeFileSync(join(project, 'index.ts'), USER_CODE);
  });

  after(() => rmSync(project, { recursive: true, force: true }));

  for (const [module, moduleResolution] of [
    ['NodeNext', 'NodeNext'],
    ['ESNext', 'Bundler'],
    ['CommonJS', 'Node10'],
  ] as const) {
    it(`type-checks under moduleResolution ${moduleResolution}`, () => {
      const config = { compilerOptions: { strict: true, exactOptionalPropertyTypes: true, noEmit: true, module, moduleResolution, target: 'ES2022', types: ['node'], skipLibCheck: false }, files: ['index.ts'] };
      writeFileSync(join(project, `tsconfig.${moduleResolution}.json`), JSON.stringify(config));
      try {
        execFileSync(process.execPath, [TSC, '-p', `tsconfig.${moduleResolution}.json`], { cwd: project, encoding: 'utf8' });
      } catch (error) {
        assert.fail(`tsc under ${moduleResolution}:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
      }
    });
  }

  it('ships no source maps, and a LICENSE', () => {
    const files = readdirSync(join(project, 'node_modules', 'sluice'), { recursive: true }).map(String);
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
    assert.ok(files.includes('LICENSE'));
  });

  it('its command answers --version from the installed files', () => {
    const out = execFileSync(process.execPath, [join(project, 'node_modules', 'sluice', 'dist', 'cli', 'main.js'), '--version'], { encoding: 'utf8' });
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });
});
