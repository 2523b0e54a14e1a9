import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { MockApi } from '../../src/http/mock/index.js';
import { parseFaults, pickFault, FAULT_KINDS } from '../../src/http/mock/faults.js';
import { parseLatency } from '../../src/http/mock/latency.js';
import { seededRandom } from '../../src/http/mock/random.js';
import { getJson, withMock } from './mock-helpers.js';

type Seen = 'ok' | '5xx' | 'reset' | 'truncated' | 'malformed';

/** What a client sees of one request: each fault has its own symptom. */
async function observe(url: string): Promise<Seen> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    return 'reset';
  }
  let text: string;
  try {
    text = await res.text();
  } catch {
    return 'truncated';
  }
  if (res.status >= 500) return '5xx';
  try {
    JSON.parse(text);
    return 'ok';
  } catch {
    return 'malformed';
  }
}

/** Resolves once the mock is holding `n` requests (the test cannot know otherwise when the server has one). */
async function untilInFlight(mock: MockApi, n: number): Promise<void> {
  while (mock.stats().inFlight < n) await new Promise((resolve) => setImmediate(resolve));
}

describe('mock API: faults', () => {
  it('pickFault gives each kind a share equal to its rate', () => {
    const rates = parseFaults('5xx=0.1,hang=0.02,reset=0.05,truncated=0.03,malformed=0.04');
    const random = seededRandom(42);
    const counts = new Map<string, number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const kind = pickFault(random(), rates) ?? 'none';
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    for (const kind of FAULT_KINDS) {
      const p = rates[kind];
      const sigma = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts.get(kind)! - n * p) < 5 * sigma, `${kind}: ${counts.get(kind)} vs ${n * p}`);
    }
  });

  it('parseFaults refuses unknown kinds, bad probabilities and a total above 1', () => {
    assert.throws(() => parseFaults('boom=0.1'), /faults\.boom/);
    assert.throws(() => parseFaults('5xx=abc'), /probability/);
    assert.throws(() => parseFaults({ '5xx': 0.7, reset: 0.7 }), /more than 1/);
  });

  it('over HTTP: each fault shows its symptom, at its rate, counted exactly in stats, the same on every run', async () => {
    const faults = { '5xx': 0.1, reset: 0.05, truncated: 0.05, malformed: 0.05 };
    const n = 400;
    const run = (count: number): Promise<{ seen: Seen[]; stats: ReturnType<MockApi['stats']> }> =>
      withMock({ faults, seed: 3 }, async (mock) => {
        const seen: Seen[] = [];
        for (let i = 0; i < count; i++) seen.push(await observe(`${mock.url}/records/${(i % 100) + 1}`));
        return { seen, stats: mock.stats() };
      });
    const { seen, stats } = await run(n);
    for (const kind of ['5xx', 'reset', 'truncated', 'malformed'] as const) {
      const observed = seen.filter((s) => s === kind).length;
      assert.equal(observed, stats.faults[kind], `${kind} seen by the client vs counted by the mock`);
      const p = faults[kind];
      assert.ok(Math.abs(observed - n * p) < 5 * Math.sqrt(n * p * (1 - p)), `${kind}: ${observed} of ${n}`);
    }
    assert.equal(stats.serverErrors, stats.faults['5xx']);
    assert.deepEqual((await run(60)).seen, seen.slice(0, 60));
  });

  it('a hung request never answers; the client gives up, and close() drops the rest', async () => {
    const mock = await withMock({ faults: { hang: 1 } }, async (mock) => {
      const giveUp = new AbortController();
      const first = fetch(`${mock.url}/records/1`, { signal: giveUp.signal });
      await untilInFlight(mock, 1);
      giveUp.abort();
      await assert.rejects(first, { name: 'AbortError' });
      while (mock.stats().inFlight > 0) await new Promise((resolve) => setImmediate(resolve)); // the mock lets go too
      const second = fetch(`${mock.url}/records/2`).then(
        () => 'answered',
        () => 'dropped',
      );
      await untilInFlight(mock, 1);
      assert.equal(mock.stats().faults.hang, 2);
      await mock.close();
      assert.equal(await second, 'dropped');
      return mock;
    });
    await mock.close(); // closing twice is harmless
  });
});

describe('mock API: latency', () => {
  it('fixed, uniform, and schedules that change over time, scaled by timeScale', () => {
    const random = seededRandom(1);
    assert.equal(parseLatency('250ms', 1).sample(0, random), 250);
    const uniform = parseLatency('200ms-1.5s', 1);
    for (let i = 0; i < 1000; i++) {
      const ms = uniform.sample(i, random);
      assert.ok(ms >= 200 && ms <= 1500);
    }
    const schedule = parseLatency('8s-30s:2m, 100ms', 60); // the seeds' slow API, a minute in a second
    const slow = schedule.sample(1999, random);
    assert.ok(slow >= 8000 / 60 && slow <= 30_000 / 60, String(slow));
    assert.equal(schedule.sample(2000, random), 100 / 60);
    const phases = parseLatency([{ latency: { min: 10, max: 20 }, for: '1s' }, { latency: 5, for: '1s' }], 1);
    assert.equal(phases.sample(1500, random), 5);
    assert.equal(phases.sample(99_999, random), 5); // the last phase lasts
    assert.throws(() => parseLatency('2s-1s', 1), /maximum latency/);
    assert.throws(() => parseLatency('fast', 1), /latency/);
  });

  it("waits on the mock's clock, and setLatency changes it at runtime", async () => {
    const clock = new ManualClock();
    await withMock({ latency: '1s', clock }, async (mock) => {
      let answered = false;
      const pending = getJson(`${mock.url}/records/1`).then((r) => {
        answered = true;
        return r.status;
      });
      await untilInFlight(mock, 1);
      await clock.advance(999);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(answered, false);
      await clock.advance(1);
      assert.equal(await pending, 200);
      mock.setLatency(0);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 200); // no clock step needed
      assert.equal(clock.pendingTimers, 0);
    });
  });
});

describe('mock API: /stats and /reset over HTTP', () => {
  it('GET /stats reports, POST /reset clears', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '1/1m', clock }, async (mock) => {
      await getJson(`${mock.url}/records/1`);
      await getJson(`${mock.url}/records/pages`);
      const stats = (await getJson(`${mock.url}/stats`)).body as ReturnType<MockApi['stats']>;
      assert.equal(stats.requests, 2);
      assert.deepEqual(stats.statuses, { '200': 1, '429': 1 });
      assert.equal(stats.endpoints.record, 1);
      assert.equal(stats.endpoints.pages, 1);
      assert.equal(stats.violations.total, 1);
      assert.equal((await getJson(`${mock.url}/reset`)).status, 405);
      assert.equal((await getJson(`${mock.url}/reset`, { method: 'POST' })).status, 200);
      assert.equal(mock.stats().requests, 0);
      assert.equal((await getJson(`${mock.url}/records/1`)).status, 200); // the limit was cleared too
    });
  });
});
