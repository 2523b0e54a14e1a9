/**
 * The instants of a commit where a crash test kills the process (see crash-hook.ts):
 * - `output-partial`: half of a page's bytes written, the rest not;
 * - `output-written`: all of them written, not fsynced;
 * - `output-synced`: fsynced, the state not yet touched;
 * - `state-temp-partial`: half of the new state written to its temp file;
 * - `state-temp-written`: temp file complete, not fsynced;
 * - `state-before-rename`: temp fsynced, not renamed;
 * - `state-renamed`: renamed, the directory not fsynced.
 *
 * A database or Parquet sink's commit has its own (SINK_CRASH_POINTS):
 * - `sink-records-written`: the records are written (inserted, or a part file fsynced), not committed;
 * - `sink-committed`: committed (the transaction, or the manifest replaced), nothing told yet.
 */
export type CrashPoint =
  | 'output-partial'
  | 'output-written'
  | 'output-synced'
  | 'state-temp-partial'
  | 'state-temp-written'
  | 'state-before-rename'
  | 'state-renamed'
  | 'sink-records-written'
  | 'sink-committed';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'output-partial',
  'output-written',
  'output-synced',
  'state-temp-partial',
  'state-temp-written',
  'state-before-rename',
  'state-renamed',
];

/** Called at each crash point; the default does nothing. Only tests install one that kills the process. */
export type CrashHook = (point: CrashPoint) => void;

export const SINK_CRASH_POINTS: readonly CrashPoint[] = ['sink-records-written', 'sink-committed'];
