/**
 * The world the arrival guarantee is tested against, for timing checks and benchmarks alike:
 * a server that counts arrivals exactly (counting-server.ts) behind a loopback proxy that
 * adds random network jitter (delay-proxy.ts). Unit tests never use it: they run on
 * ManualClock (test/algorithms/arrival-jitter.test.ts is the property test of the same
 * guarantee).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCountingServer, type Arrival, type CountingServer, type CountingServerOptions } from './counting-server.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';

export { mostInWindow, startCountingServer, type Arrival, type CountingServer, type CountingServerOptions } from './counting-server.js';
export { startDelayProxy, type DelayProxy, type DelayProxyOptions } from './delay-proxy.js';

export interface World {
  server: CountingServer;
  proxy: DelayProxy;
  /** The server's URL through the proxy: what clients call. */
  url: string;
  close(): Promise<void>;
}

/** A counting server behind a proxy adding 0–`jitterMs` to every chunk each way. */
export async function startWorld(options: CountingServerOptions & { jitterMs: number }): Promise<World> {
  const { jitterMs, ...serverOptions } = options;
  const server = await startCountingServer(serverOptions);
  const proxy = await startDelayProxy({ target: server.url, maxMs: jitterMs });
  return {
    server,
    proxy,
    url: proxy.url,
    close: async () => {
      await proxy.close();
      await server.close();
    },
  };
}

/** A world in a child process (world-process.ts): its URL, and its arrivals fetched when asked. */
export interface RemoteWorld {
  url: string;
  /**
   * The arrivals so far, their times moved onto this process's `performance.now()` (the two
   * processes' time origins differ; both are read from the same system clock).
   */
  arrivals(): Promise<Arrival[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const WORLD_PROCESS = fileURLToPath(new URL('./world-process.ts', import.meta.url));

/** startWorld in a child process of its own, so the client's stalls are not the server's. */
export async function spawnWorld(options: CountingServerOptions & { jitterMs: number }): Promise<RemoteWorld> {
  const child = fork(WORLD_PROCESS, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(message: string, key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: Record<string, unknown>): void => {
        if (!(key in reply)) return;
        child.off('message', onMessage);
        resolve(reply as T);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`world process exited with ${code}`)));
      if (message !== '') child.send(message);
    });
  const { url } = await ask<{ url: string }>('', 'url');
  return {
    url,
    async arrivals() {
      const reply = await ask<{ arrivals: Arrival[]; timeOrigin: number }>('arrivals', 'arrivals');
      const shift = reply.timeOrigin - performance.timeOrigin;
      return reply.arrivals.map((a) => ({ ...a, at: a.at + shift }));
    },
    async reset() {
      await ask('reset', 'reset');
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send('close');
      }),
  };
}

export interface ArrivalReport {
  requests: number;
  admitted: number;
  refused: number;
  /** Admitted arrivals per second from the first to the last, as a share of `limit / interval`. */
  achieved: number;
}

/**
 * What the server saw: 429s, and the rate of admitted arrivals between the first and the
 * last admitted one — `(n − 1) / span` — against the limit. A client paced at exactly the
 * limit scores 1; it cannot score more without bunching (burst 1 never does).
 */
export function reportOf(arrivals: readonly Arrival[], limit: number, intervalMs: number): ArrivalReport {
  const admitted = arrivals.filter((a) => a.status === 200);
  const span = admitted.length > 1 ? admitted.at(-1)!.at - admitted[0]!.at : Number.NaN;
  return {
    requests: arrivals.length,
    admitted: admitted.length,
    refused: arrivals.filter((a) => a.status === 429).length,
    achieved: (admitted.length - 1) / span / (limit / intervalMs),
  };
}
