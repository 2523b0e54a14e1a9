import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock.js';
import { flow } from '../../src/flow/index.js';
import { drive, range } from './helpers.js';

describe('flow backpressure', () => {
  it('never reads the source more than `buffer` ahead of the workers, and never runs more than `concurrency` (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }), // buffer
        fc.integer({ min: 1, max: 6 }), // concurrency
        fc.boolean(), // async source
        fc.boolean(), // ordered
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }), // latencies
        fc.integer({ min: 0, max: 30 }), // consumer delay per result
        async (buffer, concurrency, asyncSource, ordered, latencies, consumerDelay) => {
          const clock = new ManualClock();
          let read = 0;
          let workerCalls = 0;
          let running = 0;
          let maxAhead = 0;
          let maxRunning = 0;
          const note = (): void => {
            maxAhead = Math.max(maxAhead, read - workerCalls);
          };
          function* syncGen(): Generator<number> {
            for (let i = 0; i < latencies.length; i++) {
              read++;
              note();
              yield i;
            }
          }
          async function* asyncGen(): AsyncGenerator<number> {
            for (let i = 0; i < latencies.length; i++) {
              await clock.sleep(i % 3);
              read++;
              note();
              yield i;
            }
          }
          const results = flow(
            asyncSource ? asyncGen() : syncGen(),
            async (i: number, { signal }) => {
              workerCalls++;
              running++;
              maxRunning = Math.max(maxRunning, running);
              try {
                await clock.sleep(latencies[i]!, signal);
                return i;
              } finally {
                running--;
              }
            },
            { buffer, concurrency, ordered, clock },
          );
          const seen: number[] = [];
          await drive(
            clock,
            (async () => {
              for await (const r of results) {
                seen.push(r.index);
                if (consumerDelay > 0) await clock.sleep(consumerDelay);
              }
            })(),
          );
          assert.ok(maxAhead <= buffer, `read ${maxAhead} ahead with buffer ${buffer}`);
          assert.ok(maxRunning <= concurrency, `ran ${maxRunning} at once with concurrency ${concurrency}`);
          assert.deepEqual([...seen].sort((a, b) => a - b), range(latencies.length), 'every item yields exactly once');
          if (ordered) assert.deepEqual(seen, range(latencies.length));
          assert.equal(clock.pendingTimers, 0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('holds at most `window` items started and not yet consumed when the consumer is slow', async () => {
    const clock = new ManualClock();
    let started = 0;
    let consumed = 0;
    let maxOutstanding = 0;
    const results = flow(
      range(200),
      (i: number) => {
        started++;
        // Handed over counts as consumed: the consumer's own code runs a microtask later.
        maxOutstanding = Math.max(maxOutstanding, started - results.stats().yielded);
        return i;
      },
      { concurrency: 4, window: 10, clock },
    );
    await drive(
      clock,
      (async () => {
        for await (const _ of results) {
          consumed++;
          await clock.sleep(100); // a consumer far slower than the workers
        }
      })(),
    );
    assert.equal(consumed, 200);
    assert.ok(maxOutstanding <= 10, `outstanding reached ${maxOutstanding}`);
  });

  it('does not read the source before the iteration starts', async () => {
    let read = 0;
    const source = (function* () {
      for (;;) {
        read++;
        yield read;
      }
    })();
    const results = flow(source, (n: number) => n, { buffer: 3, concurrency: 2 });
    assert.equal(read, 0, 'creating a flow reads nothing');
    const iterator = results[Symbol.asyncIterator]();
    await iterator.next();
    assert.ok(read <= 3 + 2 + 2 * 16, 'an endless source is read only as far as the bounds allow');
    await iterator.return!();
  });
});
