// Every error a user can cause ends in one clear line and a documented exit code, before any
// request where it can be known then: paths that are not files, a report over the harvest's
// own files, Redis out of reach, a reader that closes stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { REDIS_CONNECT_TIMEOUT_MS } from '../../../src/cli/harvest-redis.js';
import { tempDir } from '../helpers.js';
import { harvest, hostile, offsetApi } from './hostile.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The lines of stderr, without the progress and summary (none under --quiet). */
function lines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '');
}

describe('hostile: paths', () => {
  it('--out that is a directory: exit 2, one line saying a file path is needed, no request', async () => {
    const api = await hostile(offsetApi(10));
    const dir = tempDir();
    const run = await harvest([`${api.origin}/x?offset={offset}`], { out: dir });
    assert.equal(run.code, EXIT.usage);
    assert.deepEqual(lines(run.stderr), [`sluice harvest: --out: is a directory; give the path of a file, e.g. --out records.ndjson (got ${JSON.stringify(dir)})`]);
    assert.equal(api.requests.length, 0);
  });

  it('--out in a directory that does not exist: exit 2, the directory named', async () => {
    const api = await hostile(offsetApi(10));
    const run = await harvest([`${api.origin}/x?offset={offset}`], { out: join(tempDir(), 'missing', 'out.ndjson') });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /--out: is in a directory that does not exist/);
  });

  it('--out that is a device (/dev/null): exit 2, pointing at stdout instead', async () => {
    const api = await hostile(offsetApi(10));
    const run = await harvest([`${api.origin}/x?offset={offset}`], { out: '/dev/null' });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /is not a regular file .*leave --out out to write to stdout/);
  });

  it('--out whose state file path is a directory: exit 2 naming it, not a raw EISDIR', async () => {
    const api = await hostile(offsetApi(10));
    const out = join(tempDir(), 'out.ndjson');
    mkdirSync(`${out}.state.json`);
    const run = await harvest([`${api.origin}/x?offset={offset}`], { out });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /^sluice harvest: --out: cannot be used: it is a directory \(EISDIR\)/);
  });

  it('--report that is the state file: exit 2 before anything is written; the state is intact', async () => {
    const api = await hostile(offsetApi(30));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'];
    const first = await harvest([...args, '--max-pages', '1']);
    const state = readFileSync(`${first.out!}.state.json`, 'utf8');
    const run = await harvest([...args, '--report', `${first.out!}.state.json`], { out: first.out! });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /--report: is .*out\.ndjson\.state\.json, a file of the harvest itself; choose another path/);
    assert.equal(readFileSync(`${first.out!}.state.json`, 'utf8'), state);
  });

  it('--report that is the output through a symbolic link: exit 2', async () => {
    const api = await hostile(offsetApi(30));
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    writeFileSync(out, '');
    symlinkSync(out, join(dir, 'report.html'));
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--report', join(dir, 'report.html')], { out });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /a file of the harvest itself/);
  });

  it('--report that is a directory: exit 2, before any request', async () => {
    const api = await hostile(offsetApi(30));
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--report', tempDir()]);
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /--report: is a directory/);
    assert.equal(api.requests.length, 0);
  });

  it('--out holding someone else\'s data: exit 2, never overwritten', async () => {
    const api = await hostile(offsetApi(10));
    const out = join(tempDir(), 'precious.ndjson');
    writeFileSync(out, 'mine\n');
    const run = await harvest([`${api.origin}/x?offset={offset}`], { out });
    assert.equal(run.code, EXIT.usage);
    assert.equal(readFileSync(out, 'utf8'), 'mine\n');
  });
});

describe('hostile: what the harvest depends on', () => {
  it(`--redis at a closed port: exit 1 within ${REDIS_CONNECT_TIMEOUT_MS / 1000} s, one line naming Redis and where, never its password`, async () => {
    const api = await hostile(offsetApi(10));
    const port = await closedPort();
    const started = Date.now();
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--rate', '10/s', '--redis', `redis://default:pw-canary-0042@127.0.0.1:${port}`, '--key', 'k']);
    assert.equal(run.code, EXIT.error);
    assert.ok(Date.now() - started < REDIS_CONNECT_TIMEOUT_MS + 3000);
    assert.deepEqual(lines(run.stderr), [`sluice harvest: --redis: cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED); is it running, and is the URL right? Nothing was fetched`]);
    assert.equal(api.requests.length, 0);
  });

  it('a server that is not there: every page fails, exit 3, one line per gap', async () => {
    const port = await closedPort();
    const run = await harvest([`http://127.0.0.1:${port}/x?offset={offset}`, '--retries', '0']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /stopped at page 0 .*run the same command again to resume from it/);
  });

  it('| head -1: the reader closing stdout ends the harvest with exit 141 and no stack trace', async () => {
    const api = await hostile(offsetApi(100_000));
    const command = `"${process.execPath}" --import tsx src/cli/main.ts harvest '${api.origin}/x?offset={offset}&limit={limit}' --quiet | head -1; echo "exit=\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', command], { cwd: ROOT });
    const result = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', () => resolve({ stdout, stderr }));
    });
    assert.match(result.stdout, /^\{"id":1\}\nexit=141\n$/);
    assert.doesNotMatch(result.stderr, /EPIPE|at .*\.ts:\d+|Error/);
  });

  it('stdout closed while records are written, in process: exit 141', async () => {
    const { Writable } = await import('node:stream');
    const api = await hostile(offsetApi(5000));
    const closing = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const { runHarvestCommand } = await import('../../../src/cli/harvest.js');
    const code = await runHarvestCommand([`${api.origin}/x?offset={offset}&limit={limit}`, '--quiet'], { stdout: closing, stderr: { write: () => true }, env: {} });
    assert.equal(code, EXIT.closed);
  });
});
