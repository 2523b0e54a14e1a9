// Reservations over RedisStore: a fleet's processes share one limit, and each corrects its own
// starts — on Redis's clock, whatever the others started since.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock, RateLimiter, StoreUnavailableError, TokenQuota } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { cleanup, connect, PARITY_TIMEOUT_MS, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

describe('reservations over RedisStore', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('reservations');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  /** Two processes of a fleet, sharing one token limit through one Redis, on one virtual clock. */
  function fleet(name: string): { clock: ManualClock; a: TokenQuota; b: TokenQuota } {
    const clock = new ManualClock();
    const made = () => {
      const store = new RedisStore(client, { prefix: `${prefix}${name}:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
      return new TokenQuota({ tokens: new RateLimiter({ limits: { rate: '1000/1s', burst: 1000 }, store, key: 'tpm', clock }) });
    };
    return { clock, a: made(), b: made() };
  }

  it("gives back a call's unused tokens from its own start, though another process started since", async () => {
    const { clock, a, b } = fleet('refund');
    await clock.advance(1_000_000); // fixed instants, far from 0
    const mine = await a.reserve(400);
    await clock.advance(500);
    await b.reserve(400); // another process, later
    await a.settle(mine, 100); // 300 back, from the start at 0
    assert.equal((await b.limiter.tryAcquire(500)).granted, true, '100 + 400 + 500');
    assert.equal((await b.limiter.tryAcquire(1)).granted, false);
    await clock.advance(499);
    assert.equal((await a.limiter.tryAcquire(1)).granted, false, 'the 100 used are counted until the start leaves');
    await clock.advance(1);
    assert.equal((await a.limiter.tryAcquire(100)).granted, true, 'and no longer');
  });

  it("charges a call's extra tokens at its own start, so they leave the fleet's window with it", async () => {
    const { clock, a, b } = fleet('charge');
    await clock.advance(1_000_000);
    const mine = await a.reserve(200);
    await clock.advance(300);
    await b.reserve(100);
    await a.settle(mine, 700); // 500 more than reserved, counted at 0
    assert.equal((await b.limiter.tryAcquire(201)).granted, false, '700 + 100 + 201 > 1000');
    await clock.advance(700);
    assert.equal((await b.limiter.tryAcquire(900)).granted, true, "at 1000 the call's 700 have left; 100 remain");
  });

  it('rejects a charge it cannot record (Redis unreachable) rather than drop it', async () => {
    const offline = new Redis({ port: 1, lazyConnect: true, retryStrategy: () => null });
    offline.on('error', () => {});
    const limiter = new RateLimiter({ limits: '5/1s', store: new RedisStore(offline, { onUnavailable: 'reject' }), key: 'offline' });
    await assert.rejects(limiter.charge(1), (e: unknown) => e instanceof StoreUnavailableError && /1 units used were not recorded/.test(e.message));
    offline.disconnect();
  });
});
