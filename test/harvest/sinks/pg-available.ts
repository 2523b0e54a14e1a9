/**
 * Where the Postgres tests find Postgres: PG_URL, else postgres://postgres@127.0.0.1:5432/test
 * (trust auth). When it is not reachable the Postgres suites skip with a message — except
 * under CI=true, where a missing Postgres is a failure (.ci/run starts it). Each test run
 * works in a schema of its own, dropped after it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `Postgres not reachable at ${PG_URL} (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await probe();
if (problem !== undefined && process.env.CI === 'true') throw new Error(`${problem}; CI=true requires Postgres`);
if (problem !== undefined) console.warn(`skipping Postgres tests: ${problem}; set PG_URL or start PostgreSQL`);

/** `false` when Postgres is reachable; otherwise the reason, for `describe(name, { skip })`. */
export const skipPostgres: string | false = problem ?? false;

/** A schema name no other test run shares. */
export function uniqueSchema(name: string): string {
  return `sluice_test_${name}_${randomBytes(4).toString('hex')}`;
}

/** The sink URL of `schema`. */
export function sinkUrl(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.href;
}

/** Runs `sql` on a connection of its own. */
export async function query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
