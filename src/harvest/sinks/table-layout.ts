import { ConfigError } from '../../core/errors.js';

/**
 * The table a database sink keeps a resource in (Postgres and DuckDB alike):
 *
 * | column | what |
 * |---|---|
 * | `_sluice_row` | the record's place among every record committed to the resource, from 1 (with `merge`, the place of its latest version) |
 * | `record` | the record (Postgres `jsonb`, DuckDB `JSON`) |
 * | one per primary-key field | the field's value as text (`record->>'id'`); with `merge`, NOT NULL and unique |
 *
 * and one table for every resource's state, `_sluice_state (resource, state)`, written in the
 * same transaction as the records it counts.
 */
export interface TableLayout {
  /** The resource's table, quoted. */
  table: string;
  /** The key columns, quoted, in order. */
  keys: string[];
  /** The key fields as they are in a record (for `->>`). */
  fields: string[];
  merge: boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RESERVED = new Set(['_sluice_row', 'record']);

/** Checks the names a table is made of; throws ConfigError naming `field` (the option or config path). */
export function tableLayout(resource: string, primaryKey: readonly string[] | undefined, write: 'append' | 'merge' | undefined, field: string): TableLayout {
  if (!IDENTIFIER.test(resource)) throw new ConfigError(field, resource, 'is not a table name a database sink can use: letters, digits and _, starting with a letter or _, at most 63');
  const fields = checkPrimaryKey(primaryKey, write, `${field} primary key`);
  return { table: quote(resource), keys: fields.map(quote), fields, merge: write === 'merge' };
}

/**
 * checkPrimaryKey: primary-key fields a sink can keep as columns — top-level names of
 * letters, digits and _, none twice, none a column of the sink's own — and present when
 * `write` is `merge`. Throws ConfigError naming `field`.
 */
export function checkPrimaryKey(primaryKey: readonly string[] | undefined, write: 'append' | 'merge' | undefined, field: string): string[] {
  const fields = [...(primaryKey ?? [])];
  for (const key of fields) {
    if (!IDENTIFIER.test(key)) throw new ConfigError(field, key, 'must be a top-level field name of letters, digits and _ (it becomes a column)');
    if (RESERVED.has(key)) throw new ConfigError(field, key, `is a column the sink keeps itself (${[...RESERVED].join(', ')})`);
  }
  if (new Set(fields).size !== fields.length) throw new ConfigError(field, fields.join(','), 'names a field twice');
  if (write === 'merge' && fields.length === 0) throw new ConfigError(field, 'none', 'merge needs a primary key: the fields that tell a changed record from a new one');
  return fields;
}

/** An identifier quoted for SQL (both databases quote with double quotes). */
export function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string as an SQL literal (for DDL, where parameters cannot go). */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Records as one JSON array text: one parameter carries a whole commit's records. */
export function jsonArrayOf(records: readonly string[]): string {
  return `[${records.join(',')}]`;
}
