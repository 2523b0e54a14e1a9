/**
 * A TCP proxy on loopback that stands for a network with jitter: every chunk, in either
 * direction, is held a random `minMs`–`maxMs` before it is passed on, and each connection
 * keeps its byte order (a chunk never overtakes the one before it, as on TCP). An HTTP
 * request small enough for one chunk — any GET — so reaches the server 0–J ms late, each
 * one differently: the arrival jitter the guarantee at the server is stated against.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface DelayProxyOptions {
  /** Where to forward to, e.g. a CountingServer's URL. */
  target: string;
  /** Least and most delay added to each chunk, ms. */
  minMs?: number;
  maxMs: number;
  /** Randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface DelayProxy {
  /** The target's URL with the proxy's host and port. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const target = new URL(options.target);
  const minMs = options.minMs ?? 0;
  const span = options.maxMs - minMs;
  if (!(minMs >= 0 && span >= 0)) throw new RangeError('need 0 <= minMs <= maxMs');
  const random = options.random ?? Math.random;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    relay(client, upstream, () => minMs + random() * span);
    relay(upstream, client, () => minMs + random() * span);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(options.target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.href.replace(/\/$/, ''),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Passes `from`'s chunks to `to`, each released at `max(previous release, arrival + delay())`:
 * one timer for the head of the queue, so the order holds whatever the delays drawn.
 */
function relay(from: Socket, to: Socket, delay: () => number): void {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const pump = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) to.end();
      else if (!to.destroyed) to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
  };
  const push = (chunk: Buffer | null): void => {
    last = Math.max(last, performance.now() + delay());
    queue.push({ at: last, chunk });
    if (timer === undefined) timer = setTimeout(pump, last - performance.now());
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  from.on('close', () => {
    if (timer !== undefined && queue.length === 0) clearTimeout(timer);
  });
}
