import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { flushMicrotasks } from '../../src/core/clock.js';
import { ConfigError, QueueFullError } from '../../src/core/errors.js';
import { Channel, ChannelClosedError } from '../../src/flow/index.js';

describe('Channel', () => {
  it('push waits while the channel is full and resumes when a consumer takes an item', async () => {
    const channel = new Channel<number>({ capacity: 2 });
    await channel.push(1);
    await channel.push(2);
    let third = false;
    const pending = channel.push(3).then(() => {
      third = true;
    });
    await flushMicrotasks();
    assert.equal(third, false, 'a full channel holds the producer');
    assert.equal(channel.size, 2);
    assert.deepEqual(await channel.next(), { value: 1, done: false });
    await pending;
    assert.equal(third, true);
    assert.equal(channel.size, 2, 'the waiting item took the freed place, never exceeding capacity');
  });

  it("onFull: 'reject' fails a push into a full channel with QueueFullError", async () => {
    const channel = new Channel<number>({ capacity: 1, onFull: 'reject' });
    await channel.push(1);
    await assert.rejects(channel.push(2), QueueFullError);
    assert.equal(channel.tryPush(2), false);
  });

  it('iterates in FIFO order and ends after close once drained', async () => {
    const channel = new Channel<number>({ capacity: 4 });
    const consumed: number[] = [];
    const consumer = (async () => {
      for await (const n of channel) consumed.push(n);
    })();
    for (let i = 0; i < 10; i++) await channel.push(i);
    channel.close();
    await consumer;
    assert.deepEqual(consumed, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('close rejects producers still waiting and refuses new pushes', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    await channel.push(1);
    const waiting = channel.push(2);
    channel.close();
    await assert.rejects(waiting, ChannelClosedError);
    await assert.rejects(channel.push(3), ChannelClosedError);
    assert.deepEqual(await channel.next(), { value: 1, done: false }, 'accepted items are still delivered');
    assert.deepEqual(await channel.next(), { value: undefined, done: true });
  });

  it('onIdle and onSizeBelow resolve when the size falls below the bound', async () => {
    const channel = new Channel<number>({ capacity: 3 });
    for (const n of [1, 2, 3]) await channel.push(n);
    const events: string[] = [];
    void channel.onSizeBelow(3).then(() => events.push('below3'));
    void channel.onIdle().then(() => events.push('idle'));
    await flushMicrotasks();
    assert.deepEqual(events, []);
    await channel.next();
    await flushMicrotasks();
    assert.deepEqual(events, ['below3']);
    await channel.next();
    await channel.next();
    await flushMicrotasks();
    assert.deepEqual(events, ['below3', 'idle']);
    await channel.onIdle(); // already idle: immediate
  });

  it('an aborted wait leaves the queue and removes its listener', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    await channel.push(1);
    const ac = new AbortController();
    const push = channel.push(2, { signal: ac.signal });
    const idle = channel.onIdle({ signal: ac.signal });
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1, 'the two waits share the one listener of core/abort-watch');
    ac.abort(new Error('stop'));
    await assert.rejects(push, /stop/);
    await assert.rejects(idle, /stop/);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    assert.deepEqual(await channel.next(), { value: 1, done: false });
    assert.equal(channel.size, 0, 'the aborted item was never added');

    const empty = new Channel<number>({ capacity: 1 });
    const ac2 = new AbortController();
    const take = empty.next({ signal: ac2.signal });
    ac2.abort();
    await assert.rejects(take, { name: 'AbortError' });
    assert.equal(empty.tryPush(5), true, 'the aborted taker did not swallow the item');
    assert.equal(empty.size, 1);
  });

  it('rejects a bad capacity with ConfigError naming the field', () => {
    assert.throws(() => new Channel({ capacity: 0 }), (e: unknown) => e instanceof ConfigError && e.field === 'capacity');
  });
});
