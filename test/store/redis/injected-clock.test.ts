// ScriptRunner and RedisConcurrencyLimiter keep this process's time on the Clock they are
// given: a fake client and a ManualClock drive them here, with no Redis and no real waiting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { RedisConcurrencyLimiter } from '../../../src/limiters/redis-concurrency-limiter.js';
import { LEASE_ACQUIRE } from '../../../src/store/lua/lease.js';
import { preambleArgv } from '../../../src/store/lua/preamble.js';
import { script } from '../../../src/store/lua/script.js';
import { ScriptRunner, UNAVAILABLE, type RedisClient } from '../../../src/store/redis-runner.js';

/** A client that is always ready and answers each EVALSHA with what `answer` returns for its script. */
function fakeClient(answer: (sha: string) => Promise<string>): { client: RedisClient; calls: string[] } {
  const calls: string[] = [];
  const fake = {
    status: 'ready',
    evalsha: (sha: string) => {
      calls.push(sha);
      return answer(sha);
    },
    duplicate: () => ({ on: () => {}, subscribe: () => Promise.resolve(), disconnect: () => {} }),
  };
  return { client: fake as unknown as RedisClient, calls };
}

const NEVER = new Promise<string>(() => {});
const PROBE = script('probe', "return 'ok,1000 0'");

describe('ScriptRunner on an injected clock', () => {
  it('gives up on a request when timeoutMs has passed on its clock, and passes the late reply to onLate', async () => {
    const clock = new ManualClock();
    let reply: (value: string) => void = () => {};
    const { client } = fakeClient(() => new Promise((resolve) => (reply = resolve)));
    const runner = new ScriptRunner(client, { timeoutMs: 1000, maxRetryDelayMs: 500, deadlines: true, clock });
    const late: string[][] = [];
    let answer: string[] | typeof UNAVAILABLE | undefined;
    void runner.run(PROBE, ['k'], preambleArgv('', '0'), (r) => late.push(r)).then((r) => (answer = r));
    await clock.advance(999);
    assert.equal(answer, undefined, 'still waiting at 999 ms');
    await clock.advance(1);
    assert.equal(answer, UNAVAILABLE);
    assert.equal(clock.pendingTimers, 0);
    reply('ok,1 0');
    await clock.advance(0);
    assert.deepEqual(late, [['ok', '1 0']]);
  });

  it('jitters the retry delay with the injected randomness: 25 ms doubling per failure, times 0.5 to 1', async () => {
    const clock = new ManualClock();
    const { client } = fakeClient(() => NEVER);
    let random = 0;
    const runner = new ScriptRunner(client, { timeoutMs: 10, maxRetryDelayMs: 500, deadlines: false, clock, random: () => random });
    assert.equal(runner.retryDelay(), 12.5);
    void runner.run(PROBE, ['k'], preambleArgv('', '0'));
    await clock.advance(10); // one failure: a timeout
    assert.equal(runner.retryDelay(), 25);
    random = 1;
    assert.equal(runner.retryDelay(), 50);
  });
});

describe('RedisConcurrencyLimiter on an injected clock', () => {
  it('when the set is full, asks again once, when the earliest lease may have expired', async () => {
    const clock = new ManualClock();
    const answers = ['0,1000 0,500', '1,1000 500'];
    const { client, calls } = fakeClient(() => Promise.resolve(answers.shift() ?? NEVER));
    const limiter = new RedisConcurrencyLimiter(client, { limit: 1, clock });
    let granted = false;
    const acquired = limiter.acquire().then((permit) => {
      granted = true;
      return permit;
    });
    await clock.advance(500);
    assert.equal(granted, false, 'the earliest lease expires in 500 ms: asked again 1 ms after');
    assert.deepEqual(calls, [LEASE_ACQUIRE.sha]);
    await clock.advance(1);
    assert.equal(granted, true);
    assert.deepEqual(calls, [LEASE_ACQUIRE.sha, LEASE_ACQUIRE.sha]);
    assert.equal(limiter.stats().held, 1);
    await acquired;
    await limiter.close();
  });
});
