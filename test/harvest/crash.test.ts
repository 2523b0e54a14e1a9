import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CRASH_POINTS } from '../../src/harvest/crash-points.js';
import { startMockApi, type MockApi } from '../../src/http/mock/index.js';
import { tempDir } from './helpers.js';
import { runCli, type CliRun } from './spawn-cli.js';

/** A seeded generator, so a failure can be replayed: the seed is in the test's name. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

/**
 * kill -9 at random instants: each chain harvests into one output, is killed again and
 * again — by the env-gated hook at a chosen point of a commit (mid-write, before fsync,
 * between temp file and rename…) or by SIGKILL after a random delay — then runs to the end.
 * The result must equal an uninterrupted run byte for byte.
 */
describe(`harvest survives kill -9 (seed ${SEED})`, () => {
  let mock: MockApi;
  let args: (out: string) => string[];
  before(async () => {
    mock = await startMockApi({ records: 1500, seed: 11, latency: '2ms-20ms', pageSize: 20 });
    args = (out) => ['harvest', `${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', '15', '--concurrency', '4', '--out', out, '--quiet'];
  });
  after(async () => {
    await mock.close();
  });

  it('24 crashes over three chains, then the resumed output equals the uninterrupted one', async () => {
    const reference = join(tempDir(), 'reference.ndjson');
    const clean = await runCli(args(reference));
    assert.equal(clean.code, 0, clean.stderr);
    const expected = readFileSync(reference);
    const random = lcg(SEED);
    const chains = [0, 1, 2].map(async (chain) => {
      let out = join(tempDir(), `chain-${chain}.ndjson`);
      const kills: string[] = [];
      let killed = 0;
      for (let attempt = 0; killed < 8 && attempt < 16; attempt++) {
        let run: CliRun;
        if ((attempt + chain) % 3 !== 2) {
          const point = CRASH_POINTS[Math.floor(random() * CRASH_POINTS.length)]!;
          // Pages finishing together are committed together, so a run passes each point
          // fewer times than it has pages: aim early.
          const n = 1 + Math.floor(random() * 4);
          run = await runCli(args(out), { env: { SLUICE_HARVEST_CRASH: `${point}:${n}` } });
          kills.push(`${point}:${n}→${run.signal ?? run.code}`);
        } else {
          const delay = 400 + Math.floor(random() * 1200); // the child needs ~0.5 s to start
          run = await runCli(args(out), { killAfterMs: delay });
          kills.push(`after ${delay} ms→${run.signal ?? run.code}`);
        }
        assert.ok(run.signal === 'SIGKILL' || run.code === 0, `chain ${chain}: ${kills.join(', ')}: ${run.stderr}`);
        if (run.signal === 'SIGKILL') {
          killed++;
        } else {
          // It finished before the kill came: check it, and go on with a new output.
          assert.ok(readFileSync(out).equals(expected), `chain ${chain} differs after ${kills.join(', ')}`);
          out = join(tempDir(), `chain-${chain}-${attempt}.ndjson`);
        }
      }
      const last = await runCli(args(out));
      assert.equal(last.code, 0, `chain ${chain}: ${kills.join(', ')}: ${last.stderr}`);
      assert.ok(existsSync(`${out}.state.json`));
      assert.ok(readFileSync(out).equals(expected), `chain ${chain} differs after ${kills.join(', ')}`);
      return kills;
    });
    const kills = await Promise.all(chains);
    const killed = kills.flat().filter((k) => k.endsWith('SIGKILL')).length;
    assert.ok(killed >= 20, `only ${killed} of 24 runs were killed: ${kills.flat().join(', ')}`);
  });
});
