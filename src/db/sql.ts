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
