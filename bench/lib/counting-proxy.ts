import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A proxy in front of a server that logs the path and query of every request, as it arrives. */
export interface CountingProxy {
  readonly url: string;
  /** Requests since the last `take()`, in arrival order. */
  take(): string[];
  /** Heard at each request's arrival (a bench arms its kill timer on the first). */
  onRequest: (() => void) | undefined;
  close(): Promise<void>;
}

/**
 * countingProxy: what a server was asked, counted at its door — so a benchmark can tell
 * which pages a harvest fetched, run by run, whatever the harvest itself believes. A client
 * killed mid-request drops its socket; the proxy then drops the upstream request too. A
 * `Link` header naming the server is rewritten to name the proxy.
 */
export async function countingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let log: string[] = [];
  const proxy: CountingProxy = {
    url: '',
    take() {
      const taken = log;
      log = [];
      return taken;
    },
    onRequest: undefined,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      agent.destroy();
    }),
  };
  const server = createServer((req, res) => {
    log.push(req.url ?? '/');
    proxy.onRequest?.();
    const forward = request({ agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      // Links lead back through the proxy, so every page is counted.
      const headers = { ...answer.headers };
      if (typeof headers.link === 'string') headers.link = headers.link.replaceAll(target.origin, proxy.url);
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
