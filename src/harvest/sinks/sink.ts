/**
 * The sink contract: where a harvest's records go, and how they stay exactly-once.
 *
 * A harvest writes each resource through a ResourceWriter. Every commit hands the writer a
 * batch of records *and* the resource's state after them (which pages are done, where the
 * next one is); the writer makes both durable as one step, so after a crash at any instant
 * `resume` finds either the previous commit or this one, whole — never records without the
 * state that counts them, never a state that counts records not there. That is the whole
 * of exactly-once: the engine fetches again only what the last commit's state does not
 * count, and a writer discards on resume whatever a crash left after that commit.
 *
 * Implementations: ndjson.ts (a file and its state file, one pair per resource),
 * stream.ts (stdout: no durability, no resume), and the optional database sinks, each
 * loaded only when used (postgres.ts, duckdb.ts, parquet.ts).
 */

/** What every resource's state tells its writer about what it has committed. */
export interface CommittedCounts {
  /** Records committed so far. */
  records: number;
  /** Their NDJSON length in bytes: each record's UTF-8 text and a newline (the NDJSON sink's file length). */
  bytes: number;
}

/**
 * StateCodec: how a resource's state becomes text and back. The writer stores the text as it
 * is and never looks inside it (except NDJSON, which reads `bytes`); `decode` checks it
 * whole — version, fingerprint of the command, every field — and throws StateRefusedError
 * naming `where` (a file, a table row) when it cannot be trusted.
 */
export interface StateCodec<S> {
  encode(state: S): string;
  decode(text: string, where: string): S;
}

/** One resource, as a sink needs to know it. */
export interface ResourceSpec<S> {
  /** The resource's name: a file name part, a table name. Letters, digits and `_`, starting with a letter or `_` (database sinks refuse others). */
  name: string;
  codec: StateCodec<S>;
  /**
   * Fields (top-level, of each record) that identify a record. Required by `write: 'merge'`;
   * database sinks also keep them as columns. Undefined: none.
   */
  primaryKey?: readonly string[] | undefined;
  /**
   * `append` (default): every record committed is added. `merge`: a record whose primary key
   * is already there replaces it (the last committed wins) — what an incremental sync wants.
   * NDJSON and Parquet only append.
   */
  write?: 'append' | 'merge' | undefined;
  /** How many of the last committed records `resume` returns (the loop guard's memory). */
  tailRecords: number;
}

/** The last commit, as `resume` finds it. */
export interface Resumed<S> {
  state: S;
  /** Up to `tailRecords` of the last records committed, oldest first, as JSON text. */
  lastRecords: string[];
}

/**
 * ResourceWriter: one resource's records and state in one sink. One writer per resource at a
 * time: `Sink.open` takes a lock (a lock file, an advisory lock) that `close` releases.
 */
export interface ResourceWriter<S extends CommittedCounts> {
  /**
   * The last commit; undefined when there is none (a fresh start). Anything written after the
   * last commit (a crash mid-commit) is discarded first. Throws StateRefusedError when the
   * stored state, or the records it vouches for, cannot be trusted.
   */
  resume(): Promise<Resumed<S> | undefined>;
  /**
   * Commits `records` (each one JSON text, in order; none is fine — a state change alone)
   * with `state`, the state after them, atomically: durable when it resolves. A rejected
   * commit may or may not have happened; the harvest stops and the next resume tells.
   */
  commit(records: readonly string[], state: S): Promise<void>;
  close(): Promise<void>;
}

/** Sink: opens a writer per resource. */
export interface Sink {
  /** What the sink is, for messages and the report, with no secret in it (`postgres://127.0.0.1/test`, `out.ndjson`). */
  readonly description: string;
  open<S extends CommittedCounts>(resource: ResourceSpec<S>): Promise<ResourceWriter<S>>;
  /** Closes what the sink holds besides its writers (a connection pool). Close writers first. */
  close(): Promise<void>;
}

/** The NDJSON length of `records`: each one's UTF-8 bytes and a newline. */
export function ndjsonLength(records: readonly string[]): number {
  let bytes = records.length;
  for (const record of records) bytes += Buffer.byteLength(record);
  return bytes;
}
