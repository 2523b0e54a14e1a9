import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { TimeoutError } from '../../src/core/errors.js';
import { constant, fallback, retry, timeout, type Policy, type PolicyContext } from '../../src/policies/index.js';
import { pipeline, type PipelineParts } from '../../src/policies/pipeline.js';
import { track } from './helpers.js';

/** A policy that records entering and leaving under its place's name, and hands the context on. */
function place(name: string, log: string[]): Policy {
  return {
    async execute<T>(fn: (c: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
      log.push(`${name}>`);
      try {
        return await fn({ signal: context?.signal ?? new AbortController().signal, attempt: context?.attempt ?? 1 });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

const INNER_PLACES = ['deadline', 'retry', 'attempt', 'breaker', 'rateLimit', 'bulkhead', 'admitted', 'timeout'] as const;

describe('pipeline', () => {
  it('stacks the parts in the recommended order, outer → inner, whatever order they are written in', async () => {
    const log: string[] = [];
    const parts: Omit<PipelineParts, 'fallback'> = {};
    for (const name of [...INNER_PLACES].reverse()) parts[name] = place(name, log);
    const result = await pipeline(parts).execute(() => {
      log.push('work');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(log, [...INNER_PLACES.map((name) => `${name}>`), 'work', ...[...INNER_PLACES].reverse().map((name) => `<${name}`)]);
  });

  it('leaves out the parts not given; with none it runs the function once, as compose() does', async () => {
    const log: string[] = [];
    await pipeline({ timeout: place('timeout', log), retry: place('retry', log) }).execute(() => log.push('work'));
    assert.deepEqual(log, ['retry>', 'timeout>', 'work', '<timeout', '<retry']);
    const seen = await pipeline({}).execute((context) => context);
    assert.equal(seen.attempt, 1);
    assert.ok(seen.signal instanceof AbortSignal);
  });

  it('a fallback goes outermost: it answers for a failure of any part, the deadline included', async () => {
    const failingDeadline: Policy = {
      execute: () => Promise.reject(new TimeoutError('total deadline', 0)),
    };
    const log: string[] = [];
    const value = await pipeline({ deadline: failingDeadline, retry: place('retry', log), fallback: fallback('fallen back') }).execute(() => 'never');
    assert.equal(value, 'fallen back');
    assert.deepEqual(log, [], 'the deadline refused before anything inside it ran');
  });

  it('the per-attempt timeout sits inside the retry: a timed-out attempt is retried', async () => {
    const clock = new ManualClock();
    const stack = pipeline({
      timeout: timeout(100, { clock }),
      retry: retry({ clock, budget: false, attempts: 2, backoff: constant(0) }),
    });
    const call = track(stack.execute(({ attempt }) => (attempt === 1 ? new Promise<string>(() => {}) : 'second')));
    await clock.advance(100);
    assert.equal(call.value, 'second');
    assert.equal(clock.pendingTimers, 0);
  });
});
