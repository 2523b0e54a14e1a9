// Runs every test/**/*.test.ts with Node's own test runner (tsx loads TypeScript).
// A script rather than a shell glob so it works the same in every shell and on Node 20,
// whose --test does not expand globs itself.
//
// The Redis suites (every test file that gets Redis from test/store/redis/redis-available.ts)
// run twice: with the rest on the single Redis, then again on the 3-master Redis Cluster
// (SLUICE_REDIS_TARGET=cluster; .ci/run starts one on 127.0.0.1:7101-7103), except the
// files in SINGLE_ONLY below, each with its reason.
//
// When Redis (or the Cluster) is unreachable the Redis suites skip and the run can still
// pass; it then ends with a notice that says so, loudly, because those suites are the only
// proof that each Lua script decides as its TypeScript twin. Under CI=true a missing Redis
// or Cluster fails the run instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join, relative, resolve, sep } from 'node:path';

/**
 * The Redis test files that run on the single Redis only, and why. Every other file that
 * imports redis-available.ts runs on the Cluster too. (cluster.test.ts and failover.test.ts
 * make their own Cluster clients and run once.)
 */
const SINGLE_ONLY = new Map([
  ['test/store/redis/outage.test.ts', 'starts, kills and restarts its own redis-server; a Cluster master lost is cluster.test.ts (paused) and failover.test.ts (killed, its replica promoted)'],
  ['test/examples.test.ts', 'example 07 takes one redis:// URL (REDIS_URL), as a reader would run it'],
  ['test/readme.test.ts', "the README's snippets connect with new Redis(), as a reader would paste them"],
  ['test/harvest/cli.test.ts', '`sluice harvest --redis <url>` connects to one server (src/cli/harvest-redis.ts); the CLI has no Cluster option'],
  ['test/secrets/cli-canary.test.ts', '`sluice harvest --redis <url>` connects to one server; the CLI has no Cluster option'],
  ['test/secrets/redis-canary.test.ts', 'starts its own password-protected redis-server to prove the password never shows'],
]);

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

/** The notice for the test files that skipped for want of Redis: `lines` are 'file<TAB>target<TAB>reason'. */
function redisSkipNotice(lines) {
  const skips = new Map();
  for (const line of lines) {
    const [file, target, reason] = line.split('\t');
    skips.set(`${file} (${target})`, { file, target, reason });
  }
  const reasons = [...new Set([...skips.values()].map((skip) => skip.reason))];
  const targets = new Set([...skips.values()].map((skip) => skip.target));
  const parity = [...skips.values()].some((skip) => skip.file.startsWith(join('test', 'store', 'redis')));
  const rule = '!'.repeat(78);
  const what = targets.has('single') ? 'REDIS WAS NOT REACHABLE: THE REDIS TESTS DID NOT RUN' : 'THE REDIS CLUSTER WAS NOT REACHABLE: THE CLUSTER PASS DID NOT RUN';
  return [
    '',
    rule,
    `!!  ${what}`,
    rule,
    ...reasons.map((reason) => `!!  ${reason}`),
    `!!  ${skips.size} test file(s) skipped their Redis suites:`,
    ...[...skips.keys()].sort().map((file) => `!!    ${file}`),
    ...(parity ? ['!!  among them the parity suites, the only proof that each Lua script decides as', '!!  its TypeScript twin. A pass above says nothing about RedisStore, its scripts or a fleet', `!!  on ${targets.has('single') ? 'Redis' : 'a Redis Cluster'}.`] : []),
    '!!  Start redis-server (or set REDIS_URL) and the cluster (.ci/run\'s cluster lines, or set',
    '!!  REDIS_CLUSTER_NODES), and run the tests again; CI=true fails instead.',
    rule,
    '',
  ].join('\n');
}

/** Whether `file` gets its Redis from redis-available.ts, and so can run on either target. */
function usesRedisTarget(file) {
  return readFileSync(file, 'utf8').includes('redis-available.js');
}

function runTests(files, env) {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env: { ...process.env, ...env } });
  return { status: result.status ?? 1, seconds: (performance.now() - started) / 1000 };
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test').sort();
const scratch = mkdtempSync(join(tmpdir(), 'sluice-tests-'));
const skipLog = join(scratch, 'redis-skips');
try {
  const single = runTests(files, { SLUICE_REDIS_SKIP_LOG: skipLog, SLUICE_REDIS_TARGET: 'single' });
  const onCluster = files.filter((file) => usesRedisTarget(file) && !SINGLE_ONLY.has(relative(process.cwd(), resolve(file)).split(sep).join('/')));
  let cluster = { status: 0, seconds: 0 };
  if (onCluster.length > 0) {
    console.log(`\nThe Redis suites again, on the Redis Cluster (SLUICE_REDIS_TARGET=cluster): ${onCluster.length} file(s); on the single Redis only: ${[...SINGLE_ONLY.keys()].join(', ')} (reasons in scripts/run-tests.mjs)\n`);
    cluster = runTests(onCluster, { SLUICE_REDIS_SKIP_LOG: skipLog, SLUICE_REDIS_TARGET: 'cluster' });
    console.log(`\ntests: ${single.seconds.toFixed(0)} s; the cluster pass: ${cluster.seconds.toFixed(0)} s more`);
  }
  if (existsSync(skipLog)) {
    const lines = readFileSync(skipLog, 'utf8').split('\n').filter((line) => line !== '');
    if (lines.length > 0) console.log(redisSkipNotice(lines));
  }
  process.exitCode = single.status !== 0 ? single.status : cluster.status;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
