// The events' contract (docs/observability.md), on random schedules in virtual time: every
// caller of a limiter is told of exactly once — admitted, rejected or aborted — with the
// time it waited; onQueueLeft hears every caller that waited; onQueueWait hears the same
// callers with the same waits (but a caller refused by a full queue, which never waited);
// the diagnostics channel carries the same events as onEvent; stats() counts what the
// events say.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConcurrencyLimiter, ManualClock, RateLimiter, type LimiterEvent } from '../../src/index.js';
import type { WaitSink } from '../../src/core/queue-waits.js';

type Op =
  | { kind: 'call'; cost: number; abortAfter: number | undefined; maxWaitMs: number | undefined }
  | { kind: 'advance'; ms: number }
  | { kind: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      cost: fc.integer({ min: 1, max: 3 }),
      abortAfter: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined, freq: 3 }),
      maxWaitMs: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined, freq: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
);

/** What a caller saw: its outcome and how long after its call it came, in virtual time. */
interface Seen {
  type: LimiterEvent['type'];
  cost: number;
  waitMs: number;
}

/** Events as comparable keys, sorted: a multiset. */
function keys(events: readonly Seen[]): string[] {
  return events.map((e) => `${e.type}:${e.cost}:${e.waitMs.toFixed(6)}`).sort();
}

/** Whether `part` is a sub-multiset of `whole`. */
function within(part: readonly string[], whole: readonly string[]): boolean {
  const left = [...whole];
  for (const key of part) {
    const at = left.indexOf(key);
    if (at < 0) return false;
    left.splice(at, 1);
  }
  return true;
}

interface Subject {
  name: string;
  onEvent(listener: (event: LimiterEvent) => void): () => void;
  onQueueLeft(listener: (event: LimiterEvent) => void): () => void;
  onQueueWait(sink: WaitSink): () => void;
  /** Starts one caller; resolves when it is admitted, rejects when refused or aborted. */
  call(op: Extract<Op, { kind: 'call' }>, signal: AbortSignal): Promise<unknown>;
  /** Ends the oldest admitted caller's work, if the limiter holds any. */
  release(): void;
  counts(): { admitted: number; rejected: number; aborted: number };
}

function rateSubject(clock: ManualClock): Subject {
  const limiter = new RateLimiter({ limits: { rate: '4/1s', algorithm: 'sliding-window' }, clock, name: 'rate-under-test', queueSize: 4 });
  return {
    name: limiter.name,
    onEvent: limiter.onEvent,
    onQueueLeft: limiter.onQueueLeft,
    onQueueWait: (sink) => limiter.onQueueWait(sink),
    call: (op, signal) => limiter.acquire({ cost: op.cost, signal, ...(op.maxWaitMs === undefined ? {} : { maxWaitMs: op.maxWaitMs }) }),
    release: () => {},
    counts: () => limiter.stats(),
  };
}

function concurrencySubject(clock: ManualClock): Subject {
  const limiter = new ConcurrencyLimiter({ limit: 2, queueSize: 3, onFull: 'reject', clock, name: 'slots-under-test' });
  const held: (() => void)[] = [];
  return {
    name: limiter.name,
    onEvent: limiter.onEvent,
    onQueueLeft: limiter.onQueueLeft,
    onQueueWait: (sink) => limiter.onQueueWait(sink),
    call: (_op, signal) => limiter.acquire({ signal }).then((permit) => held.push(() => permit.release())),
    release: () => held.shift()?.(),
    counts: () => {
      const s = limiter.stats();
      return { admitted: s.started, rejected: s.rejected, aborted: s.aborted };
    },
  };
}

async function check(make: (clock: ManualClock) => Subject, ops: readonly Op[], costs: boolean): Promise<void> {
  const clock = new ManualClock();
  const subject = make(clock);
  const all: LimiterEvent[] = [];
  const queued: LimiterEvent[] = [];
  const published: LimiterEvent[] = [];
  const onPublished = (message: unknown): void => {
    if ((message as LimiterEvent).limiter === subject.name) published.push(message as LimiterEvent);
  };
  subscribe('sluice:limiter', onPublished);
  const stopAll = subject.onEvent((e) => all.push(e));
  const stopQueued = subject.onQueueLeft((e) => queued.push(e));
  const waits: string[] = [];
  const stopWaits = subject.onQueueWait((result, waitMs) => waits.push(`${result}:${waitMs.toFixed(6)}`));
  const seen: Seen[] = [];
  const pending: Promise<void>[] = [];
  try {
    for (const op of ops) {
      if (op.kind === 'advance') await clock.advance(op.ms);
      else if (op.kind === 'release') subject.release();
      else {
        const cost = costs ? op.cost : 1;
        const controller = new AbortController();
        if (op.abortAfter !== undefined) clock.timer(() => controller.abort(), op.abortAfter);
        const calledAt = clock.now();
        pending.push(
          subject.call({ ...op, cost }, controller.signal).then(
            () => void seen.push({ type: 'admitted', cost, waitMs: clock.now() - calledAt }),
            () => void seen.push({ type: controller.signal.aborted ? 'aborted' : 'rejected', cost, waitMs: clock.now() - calledAt }),
          ),
        );
      }
    }
    // Let every caller end: release all work, time passes, late aborts fire.
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 8; j++) subject.release();
      await clock.advance(250);
    }
    await Promise.all(pending);
  } finally {
    stopAll();
    stopQueued();
    stopWaits();
    unsubscribe('sluice:limiter', onPublished);
  }
  const callers = ops.filter((op) => op.kind === 'call').length;
  assert.equal(seen.length, callers, 'every caller ended');
  // Exactly one event per caller, with its outcome, cost and wait.
  assert.deepEqual(keys(all), keys(seen));
  // The channel carries what onEvent does.
  assert.deepEqual(keys(published), keys(all));
  // onQueueLeft: every caller that waited, and nothing onEvent did not say.
  assert.ok(within(keys(queued), keys(all)), 'onQueueLeft only repeats onEvent');
  assert.ok(within(keys(all.filter((e) => e.waitMs > 0)), keys(queued)), 'every caller that waited reaches onQueueLeft');
  // onQueueWait: the callers of onQueueLeft that entered the queue, each with its wait.
  const entered = queued.filter((e) => !(e.type === 'rejected' && e.reason === 'queue-full'));
  assert.deepEqual(waits.sort(), entered.map((e) => `${e.type}:${e.waitMs.toFixed(6)}`).sort());
  // stats() counts what the events say.
  const count = (type: LimiterEvent['type']): number => all.filter((e) => e.type === type).length;
  const counts = subject.counts();
  assert.deepEqual({ admitted: counts.admitted, rejected: counts.rejected, aborted: counts.aborted }, { admitted: count('admitted'), rejected: count('rejected'), aborted: count('aborted') });
}

describe('limiter events (property)', () => {
  it('RateLimiter: one event per caller with its wait, onQueueLeft for every waiter, the channel and stats agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => check(rateSubject, ops, true)),
      { numRuns: 150 },
    );
  });

  it('ConcurrencyLimiter: the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => check(concurrencySubject, ops, false)),
      { numRuns: 150 },
    );
  });
});
