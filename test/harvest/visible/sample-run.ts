import { ManualClock } from '../../../src/core/clock.js';
import { HarvestRecorder } from '../../../src/harvest/visible/index.js';

/**
 * sampleRun: a recorded 90 s harvest, deterministic (no randomness). One request every
 * 50 ms against a 20/s limit; latency swinging slowly between ~150 ms and ~2 s; a burst of
 * 429s from 30 to 33 s; a timeout every 97th request; a quota pause from 50 to 62 s;
 * concurrency raised from 8 to 16 at 20 s; pages of 100 records out of 200,000 announced.
 * The events are stamped ahead of the ManualClock, which then catches up to the end.
 */
export async function sampleRun(): Promise<{ clock: ManualClock; recorder: HarvestRecorder }> {
  const clock = new ManualClock(5_000);
  const recorder = new HarvestRecorder({ clock });
  recorder.rateLimit(clock.now(), 20);
  recorder.concurrency(clock.now(), 8, 0);
  recorder.totals(clock.now(), { records: 200_000, pages: 2_000 });
  for (let tick = 0; tick < 90 * 20; tick++) {
    const t = 5_000 + tick * 50; // one request every 50 ms: 20/s
    const second = tick / 20;
    if (second >= 50 && second < 62) continue;
    if (tick === 50 * 20 - 1) recorder.pauseStarted(t, 5_000 + 62_000, 'quota exhausted');
    if (tick === 62 * 20) recorder.pauseEnded(t);
    if (tick === 20 * 20) recorder.concurrency(t, 16, 12);
    recorder.requestStarted(t);
    // Latency swings slowly, and spreads within each second so p50 and p95 differ.
    const latency = (800 + 600 * Math.sin(second / 6)) * (0.7 + 0.15 * (tick % 5));
    const throttled = second >= 30 && second < 33 && tick % 3 === 0;
    if (tick % 97 === 0) {
      recorder.requestFailed(t + 2, 30_000, 'timeout');
      recorder.retryScheduled(t + 2, 500);
    } else {
      recorder.responseReceived(t + 1, throttled ? 429 : 200, latency);
      if (throttled) recorder.retryScheduled(t + 1, 1000);
      else recorder.pageDone(t + 2, 100, 25_000);
    }
    recorder.concurrency(t + 2, second >= 20 ? 16 : 8, second >= 20 ? 14 : 7);
  }
  await clock.advance(90_000); // the clock stands at the last event, as at the end of a real run
  return { clock, recorder };
}
