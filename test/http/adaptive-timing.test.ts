import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeaderDialect } from '../../src/http/mock/index.js';
import { sluiceFetch } from '../../src/http/index.js';
import { logLoopStalls, stalledMsIn } from '../stall-log.js';
import { withMock } from './mock-helpers.js';

/**
 * Drives 16 workers through one sluiceFetch (rate guess 200/s, retries off so every 429 is
 * counted once) against a mock hiding a 50/s sliding window for `seconds`; calls still
 * waiting at the end are aborted, and only answers within the run count.
 */
async function run(headers: HeaderDialect, seconds: number, grace = 0) {
  return withMock({ limits: '50/1s', headers, grace }, async (mock) => {
    const f = sluiceFetch({ rate: '200/1s', retry: false });
    const stop = new AbortController();
    const start = performance.now();
    const end = start + seconds * 1000;
    const timer = setTimeout(() => stop.abort(), seconds * 1000);
    // The client and the mock share this event loop: while it stalls (other work on both
    // cores) neither runs, and that time is not the rate's to use.
    const stalls = logLoopStalls();
    const startEpoch = performance.timeOrigin + start;
    let ok = 0;
    let okSecondHalf = 0;
    let throttled = 0;
    let throttledAfterFirst = 0;
    let firstAnswerAt = Number.POSITIVE_INFINITY;
    const worker = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        const sentAt = performance.now();
        const res = await f(`${mock.url}/records/1`, { signal: stop.signal }).catch(() => undefined);
        if (res === undefined) return;
        await res.arrayBuffer();
        const at = performance.now();
        if (at > end) return;
        firstAnswerAt = Math.min(firstAnswerAt, at);
        if (res.status === 200) {
          ok++;
          if (at >= start + (seconds * 1000) / 2) okSecondHalf++;
        } else {
          throttled++;
          if (sentAt > firstAnswerAt) throttledAfterFirst++;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    clearTimeout(timer);
    const runningSeconds = seconds - stalledMsIn(stalls.stop(), startEpoch, seconds * 1000) / 1000;
    return {
      rate: ok / seconds,
      runningSeconds,
      rateWhileRunning: ok / runningSeconds,
      rateSecondHalf: okSecondHalf / (seconds / 2),
      ok,
      throttled,
      throttledAfterFirst,
      share429: throttled / (ok + throttled),
      violations: mock.stats().violations.total,
    };
  });
}

describe('adaptive rate against the mock (timing checks)', () => {
  it('timing check: a hidden 50/s limit, guessed at 200/s, is found within 10 s with ≤ 2 % of requests 429', async (t) => {
    // The whole 10 s counts, discovery included, less the time this process's event loop
    // stood still for over 20 ms (test/stall-log.ts). The target, ≥ 90 % of 50/s, is
    // met on a quiet machine (BENCHMARKS.md (HTTP section)); discovery from 200/s takes its
    // share of the 10 s, so this check holds it to 80 %.
    const r = await run('none', 10);
    t.diagnostic(JSON.stringify(r));
    assert.ok(r.rateWhileRunning >= 40, `achieved ${r.rateWhileRunning.toFixed(1)}/s over the ${r.runningSeconds.toFixed(1)} s the process ran (${JSON.stringify(r)})`);
    assert.ok(r.share429 <= 0.02, `429 share ${r.share429} (${JSON.stringify(r)})`);
  });

  it('timing check: with IETF headers the stated limit is adopted and no request sent after the first answer is throttled', async (t) => {
    // The client adopts the stated limit less 2 % and one request (48/s), and its windows
    // count each start 20 ms longer (the arrival jitter), so a paced request cannot reach the
    // server early enough to find its window full. The mock counts exactly, with no grace:
    // it used to need 20 ms of it on a loaded machine, which the margin now covers.
    const r = await run('ietf', 4);
    t.diagnostic(JSON.stringify(r));
    assert.equal(r.throttledAfterFirst, 0, JSON.stringify(r));
    assert.equal(r.violations, 0, JSON.stringify(r));
  });
});
