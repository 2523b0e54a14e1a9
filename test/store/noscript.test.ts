import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNoScript, ScriptRunner, type RedisClient } from '../../src/store/redis-runner.js';
import { script } from '../../src/store/lua/script.js';

/** A client whose EVALSHA fails with `message` (a ReplyError, as ioredis gives it) and whose EVAL answers. */
function clientFailingWith(message: string): { client: RedisClient; evals: number } {
  const state = { evals: 0, client: undefined as unknown as RedisClient };
  state.client = {
    status: 'ready',
    evalsha: () => Promise.reject(Object.assign(new Error(message), { name: 'ReplyError' })),
    eval: () => {
      state.evals++;
      return Promise.resolve('ok,12.5');
    },
  } as unknown as RedisClient;
  return state;
}

describe('NOSCRIPT recovery', () => {
  const wordings = [
    'NOSCRIPT No matching script. Please use EVAL.', // Redis
    'NOSCRIPT No matching script.', // Valkey 8
    'ERR NOSCRIPT No matching script', // a proxy's own word first
    'No matching script', // the words without the code
  ];

  it('recognises the wording of Redis and of Valkey 8, and nothing else', () => {
    for (const wording of wordings) assert.ok(isNoScript(new Error(wording)), wording);
    for (const other of ['ERR unknown command', 'NOPERM this user has no permissions', 'BUSY Redis is busy running a script', 'ERR Error running script NOSCRIPTS']) {
      assert.ok(!isNoScript(new Error(other)), other);
    }
    assert.ok(!isNoScript('NOSCRIPT'), 'only errors');
  });

  it('sends the script again with EVAL, whichever the wording', async () => {
    for (const wording of wordings) {
      const fake = clientFailingWith(wording);
      const runner = new ScriptRunner(fake.client, { timeoutMs: 1000, maxRetryDelayMs: 500, deadlines: false });
      assert.deepEqual(await runner.run(script('probe', 'return 1'), ['k'], ['', '', '0']), ['ok', '12.5'], wording);
    }
  });

  it('does not hide any other error behind a retry', async () => {
    const fake = clientFailingWith('ERR Error running script: user_script:1: oops');
    const runner = new ScriptRunner(fake.client, { timeoutMs: 1000, maxRetryDelayMs: 500, deadlines: false });
    await assert.rejects(runner.run(script('probe', 'return 1'), ['k'], ['', '', '0']), /oops/);
    assert.equal(fake.evals, 0);
  });
});
