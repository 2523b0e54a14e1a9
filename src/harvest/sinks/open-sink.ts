import { ConfigError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import type { CrashHook } from '../crash-points.js';
import type { Sink } from './sink.js';

/** The sinks `--sink` names, by the start of its value. */
export type SinkKind = 'postgres' | 'duckdb' | 'parquet';

/**
 * sinkKindOf: which sink a `--sink` value names — `postgres://…` (or `postgresql://…`),
 * `duckdb:FILE`, `parquet:DIR`. Checked with the other options, before any connection;
 * throws ConfigError naming `field` otherwise.
 */
export function sinkKindOf(value: string, field = '--sink'): SinkKind {
  if (/^postgres(ql)?:\/\//.test(value)) return 'postgres';
  if (value.startsWith('duckdb:') && value.length > 'duckdb:'.length) return 'duckdb';
  if (value.startsWith('parquet:') && value.length > 'parquet:'.length) return 'parquet';
  throw new ConfigError(field, describeSink(value), 'must be a postgres:// URL (its ?schema= names the schema, default public), duckdb:FILE or parquet:DIR (for NDJSON use --out)');
}

/** A `--sink` value as messages and the report show it: a URL's password redacted. */
export function describeSink(value: string): string {
  return /^[a-z]+:\/\//i.test(value) ? redactUrl(value) : value;
}

/** The file a `--sink` writes, for checks that must not overwrite it (`--report`): the DuckDB file; undefined for the others. */
export function sinkFileOf(value: string): string | undefined {
  return value.startsWith('duckdb:') ? value.slice('duckdb:'.length) : undefined;
}

/**
 * openSink: the sink a `--sink` value names. Each lives in its own module, imported here on
 * demand, so its driver (pg, @duckdb/node-api, hyparquet-writer) is loaded only when used.
 */
export async function openSink(value: string, options: { field?: string | undefined; crash?: CrashHook | undefined } = {}): Promise<Sink> {
  switch (sinkKindOf(value, options.field)) {
    case 'postgres': {
      const { PostgresSink } = await import('./postgres.js');
      return new PostgresSink(value, options);
    }
    case 'duckdb': {
      const { DuckDbSink } = await import('./duckdb.js');
      return new DuckDbSink(value.slice('duckdb:'.length), options);
    }
    case 'parquet': {
      const { ParquetSink } = await import('./parquet.js');
      return new ParquetSink(value.slice('parquet:'.length), options);
    }
  }
}
