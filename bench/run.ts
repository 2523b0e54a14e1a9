/**
 * Runs the benchmarks: every `bench/*.bench.ts` in name order, or only those named on the
 * command line (`npm run bench -- accuracy timers`). Each runs in its own child process,
 * one after another, with `--expose-gc --import tsx`; output goes straight through.
 * Arguments that start with `--` are passed on to every benchmark (e.g. `--rounds 1`).
 *
 *   node --expose-gc --import tsx bench/run.ts [name ...] [--flag value ...]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const args = process.argv.slice(2);
const firstFlag = args.findIndex((arg) => arg.startsWith('--'));
const names = firstFlag < 0 ? args : args.slice(0, firstFlag);
const passOn = firstFlag < 0 ? [] : args.slice(firstFlag);

const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of names.length > 0 ? names : available) {
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, `${name}.bench.ts`), ...passOn], {
    stdio: 'inherit',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (child.status !== 0) {
    failed++;
    console.error(`=== ${name} failed (exit ${child.status ?? child.signal}) after ${seconds} s ===`);
  } else {
    console.log(`=== ${name} done in ${seconds} s ===`);
  }
}
process.exit(failed > 0 ? 1 : 0);
