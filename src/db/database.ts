import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { migrations } from '../../migrations/index.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { entities } from './entities.ts';

/** How long an idle pool connection is kept open (see the pool below). */
const IDLE_CONNECTION_MS = 5 * 60_000;

/** The open database: MikroORM for entities and migrations, a pg pool for hot SQL. */
export interface Database {
  orm: MikroORM;
  pool: pg.Pool;
  /** Whether this is the embedded PGlite database. */
  embedded: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; unset opens the embedded PGlite database. */
  url?: string | undefined;
  /** Where PGlite keeps its files; unset with no `url` keeps it in memory. */
  dataDir?: string | undefined;
  /** Directory of the embedded database's Unix socket (defaults to `dataDir`). */
  socketDir?: string | undefined;
  poolSize?: number;
  debug?: boolean;
}

// bigint counts come back as strings by default; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/**
 * A pg client that never names its prepared statements. The embedded database is one
 * PGlite session shared by every connection, so a statement one connection prepares by
 * name would collide with the same name prepared by the next ("already exists").
 */
class UnnamedStatementClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() overloads cannot be re-declared one by one
  override query(config: any, values?: any, callback?: any): any {
    if (config && typeof config === 'object' && typeof config.name === 'string') {
      const { name: _name, ...unnamed } = config;
      return super.query(unnamed, values, callback);
    }
    return super.query(config, values, callback);
  }
}

/** Opens the database and applies every pending migration. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let target: { clientUrl: string } | { host: string; port: number; user: string; dbName: string };
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (opts.url) {
    target = { clientUrl: opts.url };
  } else {
    const socketDir = opts.socketDir ?? opts.dataDir;
    if (!socketDir) throw new Error('the embedded database needs a dataDir or a socketDir');
    const embedded = await startEmbeddedPostgres({ dataDir: opts.dataDir, socketDir });
    // A socket directory, never a URL: a URL's host would silently reach a local server.
    target = { host: embedded.socketDir, port: 5432, user: 'postgres', dbName: 'postgres' };
    stopEmbedded = embedded.stop;
  }
  const poolSize = opts.poolSize ?? 10;
  const orm = await MikroORM.init({
    ...target,
    entities,
    extensions: [Migrator],
    pool: { min: 0, max: 2 },
    migrations: { migrationsList: migrations, snapshot: false, silent: true },
    debug: opts.debug ?? false,
  });
  // Pipeline mode lets a batch of statements go out without waiting for each answer
  // (sql.ts `sendBatch`); one query at a time behaves as without it. A new connection's
  // first statements take 10–13 ms to parse and plan (its prepared statements and catalog
  // caches start empty), so idle connections are kept for minutes instead of pg's 10 s:
  // under a load that uses some of the pool at a time, 10 s closed and reopened them
  // several times a minute, and each reopening was a request's tail.
  const common = { max: poolSize, pipeline: true, idleTimeoutMillis: IDLE_CONNECTION_MS };
  const pool = new pg.Pool(
    'clientUrl' in target
      ? { connectionString: target.clientUrl, ...common }
      : {
          host: target.host,
          port: target.port,
          user: target.user,
          database: target.dbName,
          ...common,
          Client: UnnamedStatementClient,
        },
  );
  // An idle client whose server connection ends (a restart, a dropped database) emits
  // 'error' on the pool; unhandled, that would end the process. The pool replaces it.
  pool.on('error', () => {});
  try {
    await orm.migrator.up();
  } catch (err) {
    await Promise.allSettled([orm.close(), pool.end(), stopEmbedded?.()]);
    throw err;
  }
  return {
    orm,
    pool,
    embedded: stopEmbedded !== undefined,
    async close() {
      await pool.end();
      await orm.close();
      await stopEmbedded?.();
    },
  };
}
