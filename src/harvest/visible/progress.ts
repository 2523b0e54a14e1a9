import { backgroundTimer, type Clock, type Timer } from '../../core/clock.js';
import type { HarvestSnapshot } from '../monitor.js';
import { fitLine, plainLine, progressSegments } from './progress-line.js';

/** Where progress goes: process.stderr, or any object with `write` in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
  /** Terminal width; 80 when the stream does not say. */
  columns?: number | undefined;
}

export interface ProgressOptions {
  /** Anything with a snapshot, normally the HarvestRecorder the engine reports to. */
  recorder: { snapshot(): HarvestSnapshot };
  clock: Clock;
  stream: ProgressStream;
  /** Redraw one live line in place; default `stream.isTTY`. Otherwise print plain lines. */
  tty?: boolean | undefined;
  /** Time between updates; default 250 ms on a terminal, 5,000 ms otherwise. */
  intervalMs?: number | undefined;
}

const CLEAR_LINE = '\r\x1b[K';

/**
 * startProgress: shows a harvest's progress until `stop()`. On a terminal one line is
 * redrawn in place (carriage return + clear to end of line, cut to the width, so it never
 * wraps or scrolls); elsewhere (a log, CI) a plain line is printed every interval, the
 * first after one interval. `stop()` erases the live line so the summary starts clean; it
 * is idempotent. Ticks use the clock's timer, so a ManualClock drives it in tests; on the
 * system clock the timer is unref'd and never keeps the process alive.
 */
export function startProgress(options: ProgressOptions): { stop(): void } {
  const { recorder, clock, stream } = options;
  const tty = options.tty ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 250 : 5000);
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
  let timer: Timer | undefined;
  let drawn: string | undefined;
  let stopped = false;

  const draw = (): void => {
    const snapshot = recorder.snapshot();
    const now = clock.now();
    if (!tty) {
      stream.write(`${plainLine(snapshot, now)}\n`);
      return;
    }
    const line = fitLine(progressSegments(snapshot, now), stream.columns ?? 80);
    // An unchanged line is not rewritten: a terminal log stays small between changes.
    if (line === drawn) return;
    stream.write(`${CLEAR_LINE}${line}`);
    drawn = line;
  };
  const tick = (): void => {
    if (stopped) return;
    draw();
    timer = backgroundTimer(clock, tick, intervalMs);
  };

  if (tty) draw();
  timer = backgroundTimer(clock, tick, intervalMs);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      timer?.cancel();
      if (drawn !== undefined) stream.write(CLEAR_LINE);
    },
  };
}
