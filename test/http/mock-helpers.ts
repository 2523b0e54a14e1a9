import { runMockCommand } from '../../src/cli/mock.js';
import { startMockApi, type MockApi, type MockApiOptions } from '../../src/http/mock/index.js';

/** Runs `fn` against a fresh mock and always closes it. */
export async function withMock<T>(options: MockApiOptions, fn: (mock: MockApi) => Promise<T>): Promise<T> {
  const mock = await startMockApi(options);
  try {
    return await fn(mock);
  } finally {
    await mock.close();
  }
}

/** GETs a URL and reads it as JSON, returning status, headers and body. */
export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** The URL of `rel="next"` in an RFC 8288 Link header, if any. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match && match[2]!.split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

/** Runs `sluice mock` with its output captured; `whileRunning` uses the mock, then it stops. Resolves with its exit code and what it printed. */
export async function runMockCli(argv: string[], whileRunning: (mock: MockApi) => Promise<void> = async () => {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let failure: unknown;
  const stop = new AbortController();
  const code = await runMockCommand(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    signal: stop.signal,
    onReady: (mock) => {
      whileRunning(mock)
        .catch((error: unknown) => (failure = error)) // rethrown below, once the mock has stopped
        .finally(() => stop.abort());
    },
  });
  if (failure !== undefined) throw failure;
  return { code, out, err };
}
