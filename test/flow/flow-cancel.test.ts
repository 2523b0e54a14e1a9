import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { flushMicrotasks, ManualClock } from '../../src/core/clock.js';
import { flow } from '../../src/flow/index.js';
import { collect, drive, noUnhandledRejections, range, tracked } from './helpers.js';

describe('flow cancellation', () => {
  it('breaking out of for-await aborts in-flight work, stops reading and closes the source; no timer or listener is left', async () => {
    const clock = new ManualClock();
    const src = tracked(range(1000));
    const aborted: number[] = [];
    const external = new AbortController();
    const results = flow(
      src.source,
      async (i: number, { signal }) => {
        signal.addEventListener('abort', () => aborted.push(i), { once: true });
        await clock.sleep(i === 0 ? 10 : 1000, signal);
        return i;
      },
      { concurrency: 5, buffer: 4, rate: '100/1s', signal: external.signal, clock },
    );
    const first = await drive(
      clock,
      (async () => {
        for await (const r of results) return r; // break after the first result
        return undefined;
      })(),
    );
    assert.equal(first?.index, 0);
    assert.equal(src.closed(), true, 'the generator was closed (its finally ran) before the break completed');
    await flushMicrotasks();
    const readAtBreak = src.read();
    assert.ok(readAtBreak <= 1 + 5 + 4, `read ${readAtBreak} items`);
    assert.ok(aborted.length >= 1, 'in-flight workers saw their signal abort');
    assert.equal(clock.pendingTimers, 0, 'no sleep, rate-limiter or flow timer is left behind');
    assert.equal(getEventListeners(external.signal, 'abort').length, 0, "no listener left on the caller's signal");
    await clock.advance(5000);
    assert.equal(src.read(), readAtBreak, 'nothing is read after the break');
    const stats = results.stats();
    assert.equal(stats.state, 'done');
    assert.equal(stats.inFlight, 0, 'aborted attempts settled and gave back their slots');
  });

  it("aborting the caller's signal ends the iteration with the signal's reason and cleans up", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const src = tracked(range(100));
    const results = flow(src.source, async (i: number, { signal }) => {
      await clock.sleep(100, signal);
      return i;
    }, { concurrency: 3, signal: ac.signal, clock });
    const seen: number[] = [];
    const run = (async () => {
      for await (const r of results) {
        seen.push(r.index);
        if (seen.length === 4) ac.abort(new Error('caller gave up'));
      }
    })();
    await assert.rejects(drive(clock, run), /caller gave up/);
    assert.equal(seen.length, 4);
    await flushMicrotasks();
    assert.equal(src.closed(), true);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });

  it('an already-aborted signal ends the flow before anything is read', async () => {
    const ac = new AbortController();
    ac.abort(new Error('too late'));
    const src = tracked(range(10));
    await assert.rejects(collect(flow(src.source, (i: number) => i, { signal: ac.signal })), /too late/);
    assert.equal(src.read(), 0);
  });

  it('stopOnError: aborts the rest, reads no more, yields earlier results and the failure last', async () => {
    const clock = new ManualClock();
    const src = tracked(range(100));
    const aborted: number[] = [];
    const results = flow(
      src.source,
      async (i: number, { signal }) => {
        signal.addEventListener('abort', () => aborted.push(i), { once: true });
        await clock.sleep(i === 3 ? 25 : 10 * (i + 1), signal);
        if (i === 3) throw new Error('item 3 failed');
        return i;
      },
      { concurrency: 4, stopOnError: true, clock },
    );
    const out = await drive(clock, collect(results));
    assert.deepEqual(out.map((r) => [r.index, r.ok]), [[0, true], [1, true], [3, false]]);
    assert.match(String((out.at(-1) as { error: unknown }).error), /item 3 failed/);
    assert.ok(aborted.includes(2), 'item 2, still running, was aborted');
    assert.equal(src.closed(), true);
    assert.equal(clock.pendingTimers, 0);
  });

  it('without stopOnError, one failing or hanging-then-failing item never stops the rest; no unhandled rejections', async () => {
    const unhandled = await noUnhandledRejections(async () => {
      const clock = new ManualClock();
      const results = flow(
        range(50),
        async (i: number) => {
          if (i % 7 === 0) throw new Error(`bad ${i}`);
          if (i % 11 === 0) {
            await clock.sleep(5000);
            throw new Error(`slow failure ${i}`);
          }
          if (i === 13) return Promise.reject(new TypeError('rejected value'));
          if (i === 17) throw 'a string, not an Error';
          await clock.sleep(i);
          return i;
        },
        { concurrency: 3, ordered: true, clock },
      );
      const out = await drive(clock, collect(results));
      assert.equal(out.length, 50);
      const failed = out.filter((r) => !r.ok).map((r) => r.index);
      assert.deepEqual(failed, [0, 7, 11, 13, 14, 17, 21, 22, 28, 33, 35, 42, 44, 49]);
      assert.equal(results.stats().failed, failed.length);
    });
    assert.deepEqual(unhandled, []);
  });

  it('a source that throws: results of items already read are yielded, then the error is thrown', async () => {
    function* failing(): Generator<number> {
      yield 1;
      yield 2;
      throw new Error('source broke');
    }
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of flow(failing(), async (n: number) => n * 10, { concurrency: 2 })) if (r.ok) seen.push(r.value);
      })(),
      /source broke/,
    );
    assert.deepEqual(seen.sort(), [10, 20]);
  });
});

describe('flow cleanup on random schedules', () => {
  it('whatever fails, whenever the consumer leaves or the caller aborts: nothing left running, no timer, no listener, no unhandled rejection (property)', async () => {
    const unhandled = await noUnhandledRejections(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ ms: fc.integer({ min: 0, max: 500 }), fails: fc.boolean() }), { minLength: 1, maxLength: 30 }),
          fc.record({
            concurrency: fc.integer({ min: 1, max: 6 }),
            ordered: fc.boolean(),
            stopOnError: fc.boolean(),
            rate: fc.boolean(),
            leaveAfter: fc.integer({ min: 0, max: 35 }),
            abortAt: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
          }),
          async (items, { concurrency, ordered, stopOnError, rate, leaveAfter, abortAt }) => {
            const clock = new ManualClock();
            const ac = new AbortController();
            const src = tracked(items);
            let running = 0;
            const results = flow(
              src.source,
              async (item: { ms: number; fails: boolean }, { signal }) => {
                running++;
                try {
                  await clock.sleep(item.ms, signal);
                  if (item.fails) throw new Error('item failed');
                  return item.ms;
                } finally {
                  running--;
                }
              },
              { concurrency, ordered, stopOnError, signal: ac.signal, clock, ...(rate ? { rate: '20/1s' } : {}) },
            );
            if (abortAt !== undefined) clock.timer(() => ac.abort(new Error('caller aborted')), abortAt);
            const consume = (async () => {
              let seen = 0;
              for await (const _ of results) if (++seen > leaveAfter) break;
            })();
            await drive(clock, consume).catch((error: unknown) => {
              assert.match(String(error), /caller aborted/);
            });
            await clock.runAll(); // only the abort timer may remain, if it never fired
            assert.equal(running, 0, 'every worker finished');
            assert.equal(results.stats().inFlight, 0);
            assert.equal(results.stats().state, 'done');
            assert.equal(clock.pendingTimers, 0);
            assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
            if (src.read() < items.length) assert.equal(src.closed(), true, 'a source left unfinished was closed');
          },
        ),
        { numRuns: 200 },
      );
    });
    assert.deepEqual(unhandled, []);
  });
});
