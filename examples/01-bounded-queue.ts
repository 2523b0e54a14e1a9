// Seed 000, levels 1–2: a fast producer, a slow consumer and a queue that never holds more
// than its size. When the queue is full the producer waits — backpressure — instead of
// piling up work in memory (the seed's trap 1: an unbounded queue grows until the process dies).
//
// Scaled 10× from the seed: the producer makes a task every 20 ms (seed: 0.2 s) and the
// consumer fetches each task from the mock API, which answers in 1 s of mock time — 100 ms
// real, with timeScale 10 (seed: `sleep(1)`). Runs in about 2 s.
//
//   node --import tsx examples/01-bounded-queue.ts
import { setTimeout as sleep } from 'node:timers/promises';
import { Channel, startMockApi } from 'sluice';

const SIZE = 5;
const TASKS = 20;

const mock = await startMockApi({ latency: '1s', timeScale: 10 });
const queue = new Channel<number>({ capacity: SIZE });
const started = performance.now();
const at = (): string => `${((performance.now() - started) / 1000).toFixed(2)}s`;
let maxSize = 0;
let producerWaits = 0;
let consumed = 0;

const producer = (async () => {
  for (let task = 1; task <= TASKS; task++) {
    // tryPush never waits: when it fails the queue is full, and push() waits for room.
    if (!queue.tryPush(task)) {
      producerWaits++;
      await queue.push(task);
    }
    maxSize = Math.max(maxSize, queue.size);
    console.log(`${at()} producer: queued task ${task}, queue size ${queue.size}`);
    await sleep(20);
  }
  queue.close(); // the consumer drains what is left, then its loop ends
})();

const consumer = (async () => {
  for await (const task of queue) {
    const record = (await fetch(`${mock.url}/records/${task}`).then((r) => r.json())) as { id: number; name: string };
    consumed++;
    console.log(`${at()} consumer: task ${task} done (${record.name}), queue size ${queue.size}`);
  }
})();

try {
  await Promise.all([producer, consumer]);
} finally {
  await mock.close();
}
console.log(`\nThe producer waited ${producerWaits} times for room; the queue never held more than ${maxSize} of ${SIZE}.`);
console.log(`RESULT max-queue=${maxSize} size=${SIZE} produced=${TASKS} consumed=${consumed} producer-waits=${producerWaits}`);
