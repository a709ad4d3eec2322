import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Something that runs SQL: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Runs `fn` in one transaction on one pooled connection; rolls back on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** PostgreSQL's SQLSTATE for a unique violation, with the index that refused. */
export function uniqueViolation(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && err.code === '23505') {
    return 'constraint' in err && typeof err.constraint === 'string' ? err.constraint : 'unique';
  }
  return undefined;
}

/** Most distinct statement texts one process names (each is prepared once per connection). */
const MAX_NAMED_STATEMENTS = 500;
const namedStatements = new Map<string, string>();

/**
 * A prepared-statement name for a generated statement (a SCIM list's SQL, whose values are
 * all parameters), so PostgreSQL parses and plans each shape once per connection instead of
 * on every request: planning a filtered list costs about as much as running it. Past
 * {@link MAX_NAMED_STATEMENTS} shapes, new ones run unnamed, so a client inventing endless
 * filter shapes cannot grow every connection's statement cache without bound.
 */
export function statementName(sql: string): string | undefined {
  const known = namedStatements.get(sql);
  if (known !== undefined) return known;
  if (namedStatements.size >= MAX_NAMED_STATEMENTS) return undefined;
  const name = `gen_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
  namedStatements.set(sql, name);
  return name;
}
