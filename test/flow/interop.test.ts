import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { flow, pipeToWritable } from '../../src/flow/index.js';
import { collect, range } from './helpers.js';

describe('flow interop', () => {
  it('reads a Node Readable lazily as a source', async () => {
    let produced = 0;
    const readable = new Readable({
      objectMode: true,
      highWaterMark: 2,
      read() {
        this.push(produced < 50 ? produced++ : null);
      },
    });
    const out = await collect(flow(readable, (n: number) => n * 2, { concurrency: 4, ordered: true }));
    assert.deepEqual(out.map((r) => (r.ok ? r.value : -1)), range(50).map((n) => n * 2));
  });

  it('breaking out destroys a Node Readable source', async () => {
    const readable = Readable.from(range(1000));
    for await (const r of flow(readable, (n: number) => n, { concurrency: 2 })) if (r.index >= 3) break;
    assert.equal(readable.destroyed, true);
  });

  it('reads a Web ReadableStream as a source', async () => {
    const stream = new ReadableStream<number>({
      start(controller) {
        for (const n of range(10)) controller.enqueue(n);
        controller.close();
      },
    });
    const out = await collect(flow(stream as unknown as AsyncIterable<number>, (n: number) => n + 1, { ordered: true }));
    assert.deepEqual(out.map((r) => (r.ok ? r.value : -1)), range(10).map((n) => n + 1));
  });

  it('pipeToWritable waits for drain: the flow never runs further ahead than the stream accepts', async () => {
    const written: string[] = [];
    let pending: (() => void) | undefined;
    let maxUnwritten = 0;
    let started = 0;
    // A slow sink: each chunk is "on disk" only when we release it.
    const sink = new Writable({
      highWaterMark: 2,
      objectMode: true,
      write(chunk: string, _enc, callback) {
        written.push(chunk);
        pending = callback;
      },
    });
    const results = flow(range(100), (n: number) => {
      started++;
      maxUnwritten = Math.max(maxUnwritten, started - written.length);
      return n;
    }, { concurrency: 4, window: 8, ordered: true });
    const piping = pipeToWritable(results, sink, { serialize: (r) => `${r.index}` });
    while (written.length < 100 || pending) {
      await new Promise((r) => setImmediate(r));
      const release = pending;
      pending = undefined;
      release?.();
    }
    assert.equal(await piping, 100);
    assert.deepEqual(written, range(100).map(String));
    // window (8) + the stream's buffer (2) + the one being written + the one awaiting drain.
    assert.ok(maxUnwritten <= 12, `ran ${maxUnwritten} ahead of the sink`);
  });

  it('a stream error rejects the pipe and stops the flow', async () => {
    const sink = new Writable({
      objectMode: true,
      write(_chunk, _enc, callback) {
        callback(new Error('disk full'));
      },
    });
    const results = flow(range(1000), (n: number) => n, { concurrency: 2 });
    await assert.rejects(pipeToWritable(results, sink), /disk full/);
    assert.equal(results.stats().state, 'done');
    assert.ok(results.stats().pulled < 1000);
  });
});
