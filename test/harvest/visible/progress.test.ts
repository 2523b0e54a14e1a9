import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { HarvestRecorder, startProgress } from '../../../src/harvest/visible/index.js';

/** A stream that keeps what was written, like a terminal (isTTY, columns) or a pipe. */
function fakeStream(tty: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { isTTY: tty, columns, write: (chunk: string) => writes.push(chunk) } };
}

/** What a terminal would show: the text after the last carriage return + clear. */
const shown = (writes: string[]): string => writes.join('').split('\r\x1b[K').at(-1)!;

/** 20 requests/s for `seconds`, each a page of 100 records, 4 of 10 in flight, a 25/s limit. */
async function busy(clock: ManualClock, recorder: HarvestRecorder, seconds: number): Promise<void> {
  recorder.rateLimit(clock.now(), 25);
  for (let i = 0; i < seconds * 20; i++) {
    recorder.requestStarted(clock.now());
    recorder.responseReceived(clock.now(), 200, 40);
    recorder.pageDone(clock.now(), 100, 10);
    recorder.concurrency(clock.now(), 10, 4);
    await clock.advance(50);
  }
}

describe('startProgress on a terminal', () => {
  it('draws one line at once and redraws it in place with records, pages, rate vs limit, concurrency, 429s, retries, ETA', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(true, 200);
    const progress = startProgress({ recorder, clock, stream });
    assert.equal(writes.length, 1);
    assert.equal(writes[0], '\r\x1b[K0 records · 0 pages · 0/s');
    recorder.totals(clock.now(), { records: 20_000 });
    recorder.responseReceived(clock.now(), 429, 5);
    recorder.retryScheduled(clock.now(), 1000);
    await busy(clock, recorder, 5); // its last step fires the redraw at 5 s
    assert.equal(shown(writes), '10,000/20,000 records (50%) · 100 pages · 20/s of 25/s · 429s 1 · retries 1 · in flight 4/10 · ETA 5s');
    assert.ok(writes.every((w) => w.startsWith('\r\x1b[K') && !w.includes('\n')), 'redrawn in place, never a new line');
    progress.stop();
  });

  it('counts down while paused on an exhausted quota', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(true, 120);
    const progress = startProgress({ recorder, clock, stream });
    recorder.pauseStarted(clock.now(), clock.now() + 42_000, 'quota');
    await clock.advance(250);
    assert.match(shown(writes), /paused: quota resets in 42s$/);
    await clock.advance(30_000);
    assert.match(shown(writes), /paused: quota resets in 12s$/);
    recorder.pauseEnded(clock.now());
    await clock.advance(250);
    assert.doesNotMatch(shown(writes), /paused/);
    progress.stop();
  });

  it('fits the width, dropping the least important facts first, and never writes the last column', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    recorder.totals(clock.now(), { records: 20_000 });
    const { writes, stream } = fakeStream(true, 50);
    const progress = startProgress({ recorder, clock, stream });
    recorder.retryScheduled(clock.now(), 1000);
    await busy(clock, recorder, 3);
    const line = shown(writes);
    assert.ok(line.length <= 49, `${line.length}: ${line}`);
    assert.match(line, /^6,000\/20,000 records \(30%\) · 20\/s of 25\/s/);
    assert.doesNotMatch(line, /retries/);
    for (const w of writes) assert.ok(w.length - 4 <= 49);
    progress.stop();
  });

  it('a very narrow terminal gets the most important fact, cut with an ellipsis', () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    recorder.totals(clock.now(), { records: 123_456_789 });
    const { writes, stream } = fakeStream(true, 16);
    startProgress({ recorder, clock, stream }).stop();
    assert.equal(writes[0], '\r\x1b[K0/123,456,789 …');
  });

  it('an unchanged line is not rewritten; stop() clears the line, cancels its timer and is idempotent', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(true);
    const progress = startProgress({ recorder, clock, stream });
    await clock.advance(2_000);
    assert.equal(writes.length, 1, 'nothing changed in 2 s');
    progress.stop();
    progress.stop();
    assert.deepEqual(writes.slice(1), ['\r\x1b[K']);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('startProgress elsewhere (a log, CI)', () => {
  it('prints a plain line every 5 s, without control characters', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(false);
    const progress = startProgress({ recorder, clock, stream });
    assert.equal(writes.length, 0, 'no line of zeros at the start');
    await busy(clock, recorder, 5);
    assert.deepEqual(writes, ['[5s] 10,000 records, 100 pages, 20/s of 25/s, in flight 4/10\n']);
    await busy(clock, recorder, 5);
    assert.equal(writes.length, 2);
    assert.ok(writes.every((w) => !w.includes('\r') && !w.includes('\x1b') && w.endsWith('\n')));
    progress.stop();
    assert.equal(writes.length, 2, 'stop() prints nothing in a log');
    assert.equal(clock.pendingTimers, 0);
  });

  it('tty and intervalMs override the stream and the default', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(true);
    const progress = startProgress({ recorder, clock, stream, tty: false, intervalMs: 1_000 });
    await clock.advance(3_000);
    assert.equal(writes.length, 3);
    progress.stop();
    assert.throws(() => startProgress({ recorder, clock, stream, intervalMs: 0 }), RangeError);
  });
});

describe('startProgress on the system clock', () => {
  it('never keeps a finished process alive, even if stop() is forgotten', () => {
    const script = `
      import { systemClock } from './src/core/clock.ts';
      import { HarvestRecorder, startProgress } from './src/harvest/visible/index.ts';
      const recorder = new HarvestRecorder({ clock: systemClock });
      startProgress({ recorder, clock: systemClock, stream: { write() {} }, tty: true, intervalMs: 10 });
      startProgress({ recorder, clock: systemClock, stream: { write() {} }, tty: false, intervalMs: 10 });
    `;
    // A hang would end at the timeout with a signal instead of exit code 0.
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000, encoding: 'utf8' });
    assert.equal(child.signal, null, 'the process had to be killed: a timer kept it alive');
    assert.equal(child.status, 0, child.stderr);
  });
});

describe('progress line figures', () => {
  it('the ETA is whole seconds rounded up, and 0s once everything is done', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const { writes, stream } = fakeStream(true, 200);
    const progress = startProgress({ recorder, clock, stream });
    recorder.totals(clock.now(), { pages: 3 });
    await clock.advance(1_000);
    recorder.pageDone(clock.now(), 10, 1);
    recorder.pageDone(clock.now(), 10, 1);
    await clock.advance(250); // redrawn at 1.25 s: 1 page left at 2 pages per 1.25 s, 625 ms
    assert.match(shown(writes), /ETA 1s$/);
    recorder.pageDone(clock.now(), 10, 1);
    await clock.advance(250);
    assert.match(shown(writes), /3\/3 pages · .* · ETA 0s$/);
    progress.stop();
  });
});
