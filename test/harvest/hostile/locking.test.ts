// One writer per --out: a second harvest on the same output is refused (exit 4) with who
// holds it; a lock left by a process that died is taken over; another host's is refused with
// how to remove it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { Harvest } from '../../../src/harvest/engine.js';
import { OutputLockedError } from '../../../src/harvest/harvest-errors.js';
import { configOf, tempDir } from '../helpers.js';
import { runCli } from '../spawn-cli.js';
import { harvest, hostile, idsOf, offsetApi, upTo } from './hostile.js';

/** The pid of a process that has ended (so no process has it now, barring reuse). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('hostile: two runs on one --out', () => {
  it('a second harvest while the first runs is refused with exit 4, naming the pid; the first ends whole', async () => {
    const api = await hostile(offsetApi(300));
    const slow = await hostile((url, _n, _req, res) => {
      setTimeout(() => {
        const offset = Number(url.searchParams.get('offset'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ count: 300, results: Array.from({ length: 10 }, (_, i) => ({ id: offset + i + 1 })).filter((r) => r.id <= 300) }));
      }, 5);
      return 'handled';
    });
    const out = join(tempDir(), 'out.ndjson');
    const first = harvest([`${slow.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1'], { out });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10'], { out });
    assert.equal(second.code, EXIT.locked);
    assert.match(second.stderr, new RegExp(`is being written by another harvest \\(pid ${process.pid}, since `));
    assert.equal(api.requests.length, 0);
    const done = await first;
    assert.equal(done.code, EXIT.complete, done.stderr);
    assert.deepEqual(done.ids, upTo(300));
    assert.equal(existsSync(`${out}.lock`), false, 'released at the end');
  });

  it('the engine refuses a second open of the same output with OutputLockedError, and allows it once the first is closed', async () => {
    const out = join(tempDir(), 'out.ndjson');
    const config = configOf(['http://127.0.0.1:9/x?offset={offset}', '--out', out]);
    const first = await Harvest.open(config);
    await assert.rejects(Harvest.open(config), OutputLockedError);
    await first.close();
    const again = await Harvest.open(config);
    await again.close();
  });

  it('of any number of harvests opening one output at once, exactly one gets it (a property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.boolean(), async (runs, staleFirst) => {
        const out = join(tempDir(), 'out.ndjson');
        if (staleFirst) writeFileSync(`${out}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), since: '2026-01-01T00:00:00Z' }));
        const config = configOf(['http://127.0.0.1:9/x?offset={offset}', '--out', out]);
        const opened = await Promise.allSettled(Array.from({ length: runs }, () => Harvest.open(config)));
        const won = opened.filter((o) => o.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const o of opened) if (o.status === 'rejected') assert.ok(o.reason instanceof OutputLockedError, String(o.reason));
        await (won[0] as PromiseFulfilledResult<Harvest>).value.close();
        assert.equal(existsSync(`${out}.lock`), false);
      }),
      { numRuns: 25 },
    );
  });

  it('a lock left by a process that died (kill -9) on this host is taken over', async () => {
    const api = await hostile(offsetApi(50));
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), since: '2026-01-01T00:00:00Z' }));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`], { out });
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(50));
  });

  it('a lock file cut short by a crash, long ago, is taken over', async () => {
    const api = await hostile(offsetApi(20));
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(`${out}.lock`, '{"pid":12');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${out}.lock`, old, old);
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`], { out });
    assert.equal(run.code, EXIT.complete, run.stderr);
  });

  it('a lock from another host is refused (exit 4) with the host, the pid and the file to remove', async () => {
    const api = await hostile(offsetApi(20));
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: 4242, host: 'build-box-7', since: '2026-01-01T00:00:00Z' }));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`], { out });
    assert.equal(run.code, EXIT.locked);
    assert.match(run.stderr, new RegExp(`locked by a harvest on host build-box-7 \\(pid 4242, .*\\); if none runs there any more, remove ${out.replaceAll('.', '\\.')}\\.lock`));
    assert.equal(api.requests.length, 0);
    assert.equal(readFileSync(`${out}.lock`, 'utf8').includes('build-box-7'), true, 'left as it was');
  });

  it('the lock is released when a run stops incomplete, and when it is interrupted', async () => {
    const failing = await hostile(() => ({ status: 500, json: {} }));
    const out = join(tempDir(), 'out.ndjson');
    const run = await harvest([`${failing.origin}/x?offset={offset}`, '--retries', '0'], { out });
    assert.equal(run.code, EXIT.incomplete);
    assert.equal(existsSync(`${out}.lock`), false);
    const stalled = await hostile(() => 'handled');
    const out2 = join(tempDir(), 'out.ndjson');
    const cut = await harvest([`${stalled.origin}/x?offset={offset}`], { out: out2, timeoutMs: 300 });
    assert.equal(cut.code, EXIT.interrupted);
    assert.equal(existsSync(`${out2}.lock`), false);
  });

  it('kill -9 in the middle of a run, then the same command: the dead run\'s lock is taken over and the output is whole, each record once', async () => {
    const api = await hostile(offsetApi(400));
    const out = join(tempDir(), 'out.ndjson');
    const args = ['harvest', `${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1', '--out', out, '--quiet'];
    const killed = await runCli(args, { env: { SLUICE_HARVEST_CRASH: 'output-synced:5' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(existsSync(`${out}.lock`), true, 'kill -9 leaves the lock behind');
    const resumed = await runCli(args);
    assert.equal(resumed.code, EXIT.complete, resumed.stderr);
    assert.deepEqual(idsOf(readFileSync(out, 'utf8')), upTo(400));
  });
});
