import { mixSeed, seededRandom } from './random.js';
import type { Reply } from './pagination.js';

/**
 * The mock's two-level data set, GitHub's shape: repositories, each with issues, each with
 * comments — `/repos`, `/repos/:repo/issues`, `/repos/:repo/issues/:number/comments`. Every
 * record is derived from `(seed, ids)`, so nothing is stored but what changed: `change()`
 * touches a share of the issues (a new `updated_at`, a bumped `revision`), which `since`
 * then returns, as an API's records change between two syncs.
 */
export interface TreeShape {
  repos: number;
  issuesPerRepo: number;
  commentsPerIssue: number;
}

/** 2021-01-01T00:00:00Z: every record was created and last updated before the mock started, from here on. */
const EPOCH = Date.UTC(2021, 0, 1);
const HOUR = 3_600_000;

export class TreeData {
  /** Issues changed since start: key `repo:number` → [updated_at epoch ms, revision]. */
  private readonly changed = new Map<string, [number, number]>();
  private changes = 0;

  constructor(
    private readonly seed: number,
    readonly shape: TreeShape,
  ) {}

  clear(): void {
    this.changed.clear();
    this.changes = 0;
  }

  /**
   * Changes about `fraction` of the issues (at least one when there are any): each gets
   * `updated_at` = `nowEpochMs` and its revision + 1. Returns how many changed.
   */
  change(fraction: number, nowEpochMs: number): number {
    const random = seededRandom(mixSeed(this.seed, 1000 + ++this.changes));
    const total = this.shape.repos * this.shape.issuesPerRepo;
    const count = total === 0 ? 0 : Math.max(1, Math.round(total * fraction));
    const picked = new Set<number>();
    while (picked.size < Math.min(count, total)) picked.add(Math.floor(random() * total));
    for (const at of picked) {
      const key = `${Math.floor(at / this.shape.issuesPerRepo) + 1}:${(at % this.shape.issuesPerRepo) + 1}`;
      this.changed.set(key, [nowEpochMs, (this.changed.get(key)?.[1] ?? 0) + 1]);
    }
    return picked.size;
  }

  repo(id: number): Record<string, unknown> {
    const random = seededRandom(mixSeed(this.seed, 7_000_000 + id));
    const created = EPOCH + id * 24 * HOUR;
    return {
      id,
      name: `repo-${id}`,
      full_name: `acme/repo-${id}`,
      owner: { login: 'acme' },
      stargazers_count: Math.floor(random() * 5000),
      open_issues_count: this.shape.issuesPerRepo,
      created_at: iso(created),
    };
  }

  issue(repo: number, number: number): Record<string, unknown> {
    const random = seededRandom(mixSeed(this.seed, repo * 1_000_003 + number));
    const created = EPOCH + repo * 24 * HOUR + number * HOUR;
    const [updated, revision] = this.changed.get(`${repo}:${number}`) ?? [created + Math.floor(random() * 30 * 24 * HOUR), 0];
    return {
      id: repo * 1_000_000 + number,
      number,
      title: `Issue ${number} of repo-${repo}`,
      state: random() < 0.7 ? 'open' : 'closed',
      comments: this.shape.commentsPerIssue,
      revision,
      created_at: iso(created),
      updated_at: iso(updated),
    };
  }

  comment(repo: number, issue: number, n: number): Record<string, unknown> {
    const created = EPOCH + repo * 24 * HOUR + issue * HOUR + n * 60_000;
    return { id: (repo * 1_000_000 + issue) * 1000 + n, issue_number: issue, body: `Comment ${n} on issue ${issue} of repo-${repo}`, created_at: iso(created), updated_at: iso(created) };
  }

  /**
   * The reply for a path of the tree, or undefined when the path is none of its routes.
   * `body` is the JSON a `POST /search/issues` sent: `{ "repo": "repo-1", "since"?: date }`
   * asks for that repository's issues as `/repos/repo-1/issues?since=…` would.
   */
  reply(url: URL, body?: unknown): Reply | undefined {
    if (url.pathname === '/search/issues') return this.search(url, body);
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'repos') return undefined;
    if (parts.length === 1) return listing(url, this.shape.repos, (i) => this.repo(i + 1));
    const repo = repoId(parts[1]!, this.shape.repos);
    if (repo === undefined) return notFound(`no repository ${parts[1]}`);
    if (parts.length === 3 && parts[2] === 'issues') return this.issues(url, repo, sinceOf(url.searchParams.get('since')));
    if (parts.length === 5 && parts[2] === 'issues' && parts[4] === 'comments') {
      const issue = Number(parts[3]);
      if (!Number.isSafeInteger(issue) || issue < 1 || issue > this.shape.issuesPerRepo) return notFound(`no issue ${parts[3]}`);
      return listing(url, this.shape.commentsPerIssue, (i) => this.comment(repo, issue, i + 1));
    }
    return undefined;
  }

  private search(url: URL, body: unknown): Reply {
    const query = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (typeof query?.repo !== 'string') return badRequest('the body must be an object naming a repository: { "repo": "repo-1" }');
    const repo = repoId(query.repo, this.shape.repos);
    if (repo === undefined) return notFound(`no repository ${query.repo}`);
    if (query.since !== undefined && typeof query.since !== 'string') return badRequest('since must be an ISO 8601 timestamp string');
    return this.issues(url, repo, sinceOf(query.since ?? null));
  }

  /** A repository's issues, those updated at or after `since` when given, paged as GitHub does. */
  private issues(url: URL, repo: number, since: number | undefined | string): Reply {
    if (typeof since === 'string') return badRequest(since);
    const all = Array.from({ length: this.shape.issuesPerRepo }, (_, i) => i + 1);
    const numbers = since === undefined ? all : all.filter((n) => Date.parse(this.issue(repo, n).updated_at as string) >= since);
    return listing(url, numbers.length, (i) => this.issue(repo, numbers[i]!));
  }
}

function repoId(name: string, repos: number): number | undefined {
  const m = /^repo-(\d+)$/.exec(name);
  const id = m ? Number(m[1]) : Number.NaN;
  return id >= 1 && id <= repos ? id : undefined;
}

/** `since` as epoch ms, undefined when absent, or an error message. */
function sinceOf(raw: string | null): number | undefined | string {
  if (raw === null || raw === '') return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? `since must be an ISO 8601 timestamp, got ${JSON.stringify(raw)}` : ms;
}

/** GitHub's listing: `?page=1&per_page=30` (at most 100), a bare array, a Link header. */
function listing(url: URL, total: number, at: (i: number) => unknown): Reply {
  const page = Number(url.searchParams.get('page') ?? '1');
  const perPage = Number(url.searchParams.get('per_page') ?? '30');
  if (!Number.isSafeInteger(page) || page < 1) return badRequest('page must be a whole number >= 1');
  if (!Number.isSafeInteger(perPage) || perPage < 1 || perPage > 100) return badRequest('per_page must be between 1 and 100');
  const last = Math.max(1, Math.ceil(total / perPage));
  const link = (p: number): string => {
    const next = new URL(url);
    next.searchParams.set('page', String(p));
    next.searchParams.set('per_page', String(perPage));
    return next.href;
  };
  const links: string[] = [];
  if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
  if (page > 1) links.push(`<${link(1)}>; rel="first"`, `<${link(Math.min(page - 1, last))}>; rel="prev"`);
  const from = Math.min(total, (page - 1) * perPage);
  const body = Array.from({ length: Math.min(total, from + perPage) - from }, (_, i) => at(from + i));
  return { status: 200, headers: links.length > 0 ? { Link: links.join(', ') } : {}, body };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function notFound(message: string): Reply {
  return { status: 404, headers: {}, body: { error: message } };
}

function badRequest(message: string): Reply {
  return { status: 400, headers: {}, body: { error: message } };
}
