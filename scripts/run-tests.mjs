// Runs every test/**/*.test.ts with Node's own test runner (tsx loads TypeScript).
// A script rather than a shell glob so it works the same in every shell and on Node 20,
// whose --test does not expand globs itself.
//
// When Redis is unreachable the Redis suites skip (test/store/redis/redis-available.ts) and
// the run can still pass; it then ends with a notice that says so, loudly, because those
// suites are the only proof that each Lua script decides as its TypeScript twin. Under
// CI=true a missing Redis fails the run instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

/** The notice for the test files that skipped for want of Redis: `lines` are 'file<TAB>reason'. */
function redisSkipNotice(lines) {
  const skips = new Map();
  for (const line of lines) {
    const [file, reason] = line.split('\t');
    skips.set(file, reason);
  }
  const reasons = [...new Set(skips.values())];
  const parity = [...skips.keys()].some((file) => file.startsWith(join('test', 'store', 'redis')));
  const rule = '!'.repeat(78);
  return [
    '',
    rule,
    '!!  REDIS WAS NOT REACHABLE: THE REDIS TESTS DID NOT RUN',
    rule,
    ...reasons.map((reason) => `!!  ${reason}`),
    `!!  ${skips.size} test file(s) skipped their Redis suites:`,
    ...[...skips.keys()].sort().map((file) => `!!    ${file}`),
    ...(parity ? ['!!  among them the parity suites, the only proof that each Lua script decides as', '!!  its TypeScript twin. A pass above says nothing about RedisStore, its scripts or a fleet.'] : []),
    '!!  Start redis-server (or set REDIS_URL) and run the tests again; CI=true fails instead.',
    rule,
    '',
  ].join('\n');
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test').sort();
const scratch = mkdtempSync(join(tmpdir(), 'sluice-tests-'));
const skipLog = join(scratch, 'redis-skips');
try {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...process.env, SLUICE_REDIS_SKIP_LOG: skipLog },
  });
  if (existsSync(skipLog)) {
    const lines = readFileSync(skipLog, 'utf8').split('\n').filter((line) => line !== '');
    if (lines.length > 0) console.log(redisSkipNotice(lines));
  }
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
