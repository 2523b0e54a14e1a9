/**
 * Accuracy: 500 starts/s with burst 1, 3,000 tasks submitted at once, each doing 0–5 ms
 * of (asynchronous) work. Every task records `performance.now()` as its first statement;
 * from those starts we report the most starts in any sliding 1 s window (the limit is
 * 500) and in any 100 ms window (pro rata 50), the achieved rate and utilisation.
 *
 * The work durations come from one seeded sequence, the same for every library. Each
 * library runs alone, one after another, in this one process.
 *
 *   node --expose-gc --import tsx bench/accuracy.bench.ts [--tasks 3000] [--rate 500]
 */
import {
  achievedRate,
  collect,
  flag,
  fmtInt,
  fmtPercent,
  machineLine,
  maxInWindow,
  now,
  printTable,
  ratePeers,
  sleep,
  type Row,
} from './lib/index.js';

const TASKS = flag('tasks', 3000);
const RATE = flag('rate', 500);
const INTERVAL = 1000;

/** The same 0–5 ms work durations for every library (a seeded LCG). */
function workDurations(count: number): number[] {
  let seed = 12345;
  return Array.from({ length: count }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31) * 5;
  });
}

async function main(): Promise<void> {
  console.log(`accuracy: ${RATE}/s, burst 1, ${TASKS} tasks at once, 0–5 ms work — ${await machineLine()}`);
  const work = workDurations(TASKS);
  const rows: Row[] = [];
  const verdicts: string[] = [];
  for (const peer of ratePeers(RATE, INTERVAL)) {
    await collect();
    const limited = peer.make();
    const starts: number[] = [];
    const began = now();
    const promises: Promise<unknown>[] = [];
    for (let i = 0; i < TASKS; i++) {
      const ms = work[i]!;
      promises.push(
        limited(async () => {
          starts.push(now());
          await sleep(ms);
        }),
      );
    }
    await Promise.all(promises);
    const elapsed = now() - began;
    const max1s = maxInWindow(starts, INTERVAL);
    const max100 = maxInWindow(starts, INTERVAL / 10);
    const rate = achievedRate(starts);
    rows.push({
      name: peer.name,
      note: peer.note,
      values: { max1s, max100, rate, util: (rate / RATE) * 100, elapsed: elapsed / 1000 },
    });
    process.stderr.write(`  ${peer.name.padEnd(24)} max/1s ${max1s}  max/100ms ${max100}  ${rate.toFixed(1)}/s\n`);
    if (peer.sluice) {
      const ok = max1s <= RATE && rate / RATE >= 0.995;
      verdicts.push(`- ${peer.name}: most in any 1 s ${max1s} (limit ${RATE}), utilisation ${fmtPercent((rate / RATE) * 100)} — ${ok ? 'MET' : 'MISSED'}`);
    }
  }
  printTable(
    `Accuracy: ${RATE}/s, ${TASKS} tasks at once (lower "most in" is stricter; limit ${RATE} per 1 s, pro rata ${RATE / 10} per 100 ms)`,
    [
      { key: 'max1s', title: 'most in any 1 s', format: fmtInt, ratio: false },
      { key: 'max100', title: 'most in any 100 ms', format: fmtInt, ratio: false },
      { key: 'rate', title: 'achieved /s', format: (v) => v.toFixed(1), ratio: false },
      { key: 'util', title: 'utilisation', format: fmtPercent, ratio: false },
      { key: 'elapsed', title: 'total s', format: (v) => v.toFixed(2), ratio: false },
    ],
    rows,
    `Achieved rate = (starts - 1) / (last start - first start). A library that admits its whole window at once ` +
      `shows more than ${RATE}/s here; the "most in any 1 s" column is the one that says whether it kept the limit.`,
  );
  console.log(`\nTarget: never over ${RATE} in any 1 s window, utilisation >= 99.5%\n`);
  for (const line of verdicts) console.log(line);
}

await main();
