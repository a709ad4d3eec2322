import { createHash } from 'node:crypto';
import pg from 'pg';

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

/**
 * `alias.tenant_id = tenant` as a filter the planner cannot drive with, for rows found by
 * their primary key. Before a table is first analyzed PostgreSQL believes a tenant holds 1
 * in 200 of its rows, so a plan that walks an index on `tenant_id` and filters on the ids
 * looks as cheap as reading the ids; a statement prepared once per connection keeps that
 * plan while the tenant grows, and reads all of its rows each time.
 */
export function inTenant(alias: string, tenant: string): string {
  return `coalesce(${alias}.tenant_id = ${tenant}, false)`;
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

/** A statement sent as part of a batch: its text, parameters and optional prepared name. */
export interface Statement {
  text: string;
  values?: unknown[];
  name?: string | undefined;
}

/**
 * The socket under a pooled client. Corking it while a batch is handed to pg makes the
 * whole batch one write: on this kind of machine a socket write costs about as much CPU
 * as the rest of a small request, so one write per round trip instead of one per
 * statement is most of what the batch saves.
 */
function socketOf(client: pg.PoolClient): { cork(): void; uncork(): void } | undefined {
  const stream = (client as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  if (stream && typeof stream === 'object' && 'cork' in stream && 'uncork' in stream) {
    return stream as { cork(): void; uncork(): void };
  }
  return undefined;
}

/**
 * Sends `statements` on `client` in one write and waits for all their answers: one round
 * trip however many statements (the pool's clients run in pg's pipeline mode). Each keeps
 * its own result; the first failure is thrown once every answer is in, so the
 * connection is idle again when the caller sees it. Inside a transaction, a failure
 * makes the statements after it fail too and a trailing COMMIT roll back.
 */
export async function sendBatch(
  client: pg.PoolClient,
  statements: Statement[],
): Promise<pg.QueryResult[]> {
  const socket = socketOf(client);
  socket?.cork();
  let sent: Promise<pg.QueryResult>[];
  try {
    sent = statements.map((s) => client.query(s));
  } finally {
    socket?.uncork();
  }
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<pg.QueryResult>).value);
}

/**
 * Turns sequential scans off to the end of the transaction. For statements prepared once
 * per connection whose every table is reached by key: their plan is made the first time,
 * maybe while the tables were small (a new tenant's first writes), when the planner picks
 * sequential scans; until an ANALYZE invalidates that plan (never, on a server whose
 * autovacuum is off) it keeps scanning the tables whole as they grow. An index is right
 * for such a statement at any size. (PGlite runs every statement unnamed: database.ts.) Follow the statement with
 * {@link SEQSCAN_DEFAULT}, so the rest of the transaction plans as usual.
 */
export const INDEXES_ONLY: Statement = {
  name: 'seqscan_off_local',
  text: "select set_config('enable_seqscan', 'off', true)",
};
export const SEQSCAN_DEFAULT: Statement = { text: 'reset enable_seqscan' };

/**
 * Runs one prepared read with {@link INDEXES_ONLY}, in one round trip: on the caller's
 * transaction when `db` is a client, else in a transaction of its own on the pool.
 */
export async function readByKeys<R extends pg.QueryResultRow>(
  db: Queryable,
  statement: Statement,
): Promise<pg.QueryResult<R>> {
  if (typeof (db as pg.PoolClient).release === 'function') {
    const results = await sendBatch(db as pg.PoolClient, [
      INDEXES_ONLY,
      statement,
      SEQSCAN_DEFAULT,
    ]);
    return results[1] as pg.QueryResult<R>;
  }
  const client = await (db as pg.Pool).connect();
  try {
    const results = await sendBatch(client, [
      { text: 'begin' },
      INDEXES_ONLY,
      statement,
      { text: 'commit' },
    ]);
    client.release();
    return results[2] as pg.QueryResult<R>;
  } catch (err) {
    releaseAfterFailedCommit(client, err);
    throw err;
  }
}

/**
 * A transaction sent in batches, each batch one round trip: `begin` opens it with its
 * first statements, `commit` ends it with its last. Used by the hot write paths, where
 * round trips, not SQL, are what a request costs.
 */
export class BatchedTransaction {
  private constructor(private readonly client: pg.PoolClient) {}

  /** Checks out a connection and runs BEGIN and `first` in one round trip. */
  static async begin(
    pool: pg.Pool,
    first: Statement[],
  ): Promise<{ tx: BatchedTransaction; results: pg.QueryResult[] }> {
    const client = await pool.connect();
    const tx = new BatchedTransaction(client);
    try {
      const results = await sendBatch(client, [{ text: 'begin' }, ...first]);
      return { tx, results: results.slice(1) };
    } catch (err) {
      await tx.rollback();
      throw err;
    }
  }

  /** Runs `last` and COMMIT in one round trip and gives the connection back. */
  async commit(last: Statement[] = []): Promise<pg.QueryResult[]> {
    try {
      const results = await sendBatch(this.client, [...last, { text: 'commit' }]);
      this.client.release();
      return results.slice(0, -1);
    } catch (err) {
      releaseAfterFailedCommit(this.client, err);
      throw err;
    }
  }

  /** Ends the transaction without keeping anything and gives the connection back. */
  async rollback(): Promise<void> {
    try {
      await this.client.query('rollback');
      this.client.release();
    } catch (err) {
      // A connection that cannot even roll back is not given to anyone else.
      this.client.release(err as Error);
    }
  }

  /** For the steps between the batches that need ordinary queries (care checks, members). */
  get queryable(): Queryable {
    return this.client;
  }
}

/** Runs BEGIN, `statements` and COMMIT as one transaction in one round trip. */
export async function transactionInOneTrip(
  pool: pg.Pool,
  statements: Statement[],
): Promise<pg.QueryResult[]> {
  const client = await pool.connect();
  try {
    const results = await sendBatch(client, [{ text: 'begin' }, ...statements, { text: 'commit' }]);
    client.release();
    return results.slice(1, -1);
  } catch (err) {
    releaseAfterFailedCommit(client, err);
    throw err;
  }
}

/**
 * Gives back the connection of a batch that ended in COMMIT and failed. A statement the
 * server refused made that COMMIT a ROLLBACK, so the connection is idle and clean;
 * anything else (the connection itself failed) ends the connection.
 */
function releaseAfterFailedCommit(client: pg.PoolClient, err: unknown): void {
  client.release(err instanceof pg.DatabaseError ? undefined : (err as Error));
}
