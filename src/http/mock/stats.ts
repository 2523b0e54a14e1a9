import { FAULT_KINDS, type FaultKind } from './faults.js';

/** The mock's routes, as counted in stats. */
export type Endpoint = 'offset' | 'pages' | 'cursor' | 'link' | 'record' | 'tree' | 'token' | 'chat' | 'stats' | 'reset' | 'change' | 'other';
const ENDPOINTS: readonly Endpoint[] = ['offset', 'pages', 'cursor', 'link', 'record', 'tree', 'token', 'chat', 'stats', 'reset', 'change', 'other'];

/** MockStats: what `GET /stats` and `stats()` answer. Control endpoints (`/stats`, `/reset`) are not requests. */
export interface MockStats {
  /** Real milliseconds since the mock started or was last reset. */
  elapsedMs: number;
  /** API requests received (everything but `/stats` and `/reset`). */
  requests: number;
  /** Requests being answered now, hung ones included. */
  inFlight: number;
  /** Responses by status code, e.g. `{ "200": 95, "429": 5 }`. */
  statuses: Record<string, number>;
  /** 429 responses. */
  throttled: number;
  /** 5xx responses. */
  serverErrors: number;
  endpoints: Record<Endpoint, number>;
  faults: Record<FaultKind, number>;
  /**
   * Requests that arrived while a limit was already full — each one a request the client
   * should not have sent. `byLimit` names the limits (a request over two counts once in `total`).
   */
  violations: { total: number; byLimit: Record<string, number> };
  /** Tokens charged by the chat endpoint. */
  tokens: { prompt: number; completion: number };
}

/** StatsRecorder: the counters behind MockStats. */
export class StatsRecorder {
  private startedAt: number;
  private data!: Omit<MockStats, 'elapsedMs' | 'inFlight'>;
  inFlight = 0;

  constructor(private readonly now: () => number) {
    this.startedAt = now();
    this.clear();
  }

  clear(): void {
    this.startedAt = this.now();
    this.data = {
      requests: 0,
      statuses: {},
      throttled: 0,
      serverErrors: 0,
      endpoints: Object.fromEntries(ENDPOINTS.map((e) => [e, 0])) as Record<Endpoint, number>,
      faults: Object.fromEntries(FAULT_KINDS.map((f) => [f, 0])) as Record<FaultKind, number>,
      violations: { total: 0, byLimit: {} },
      tokens: { prompt: 0, completion: 0 },
    };
  }

  endpoint(endpoint: Endpoint): void {
    this.data.endpoints[endpoint]++;
    if (endpoint !== 'stats' && endpoint !== 'reset' && endpoint !== 'change') this.data.requests++;
  }

  status(code: number): void {
    this.data.statuses[code] = (this.data.statuses[code] ?? 0) + 1;
    if (code === 429) this.data.throttled++;
    if (code >= 500) this.data.serverErrors++;
  }

  fault(kind: FaultKind): void {
    this.data.faults[kind]++;
  }

  violation(limits: readonly string[]): void {
    this.data.violations.total++;
    for (const name of limits) this.data.violations.byLimit[name] = (this.data.violations.byLimit[name] ?? 0) + 1;
  }

  tokens(prompt: number, completion: number): void {
    this.data.tokens.prompt += prompt;
    this.data.tokens.completion += completion;
  }

  snapshot(): MockStats {
    return structuredClone({ elapsedMs: this.now() - this.startedAt, inFlight: this.inFlight, ...this.data });
  }
}
