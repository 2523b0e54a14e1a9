import { CRASH_POINTS, SINK_CRASH_POINTS, type CrashHook, type CrashPoint } from '../harvest/crash-points.js';

/**
 * crashHookFromEnv: a test hook, off unless SLUICE_HARVEST_CRASH is set. `point:n` makes the
 * process kill itself (SIGKILL, as `kill -9` would) the n-th time the harvest reaches that
 * point of a commit, e.g. `state-before-rename:7`. The crash test uses it to stop a harvest
 * between a write and its fsync, or between a temp file and its rename.
 */
export function crashHookFromEnv(value: string | undefined): CrashHook | undefined {
  if (value === undefined || value === '') return undefined;
  const [point, count] = value.split(':');
  const n = Number(count);
  const points = [...CRASH_POINTS, ...SINK_CRASH_POINTS];
  if (!points.includes(point as CrashPoint) || !Number.isInteger(n) || n < 1) {
    throw new Error(`SLUICE_HARVEST_CRASH must be <point>:<n> with a point among ${points.join(', ')}`);
  }
  let seen = 0;
  return (at) => {
    if (at === point && ++seen === n) process.kill(process.pid, 'SIGKILL');
  };
}
