import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { autovacuumGaps } from './db/autovacuum-check.ts';
import { openDatabase } from './db/database.ts';
import { createLogger } from './log.ts';
import { createServices } from './services.ts';
import { applyConnectionFile, ConnectionFileError } from './sso/connection-file.ts';

/** Starts carebridge: config, database (migrated), HTTP server, graceful shutdown. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (!config.databaseUrl) {
    log.warn(
      { dataDir: config.dataDir },
      'DATABASE_URL is not set: using the embedded PGlite database (for development and small sites; use PostgreSQL in production)',
    );
  }
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 20 });
  if (config.databaseUrl) {
    const gaps = await autovacuumGaps(db.pool);
    if (gaps.length > 0)
      log.warn(
        { gaps },
        'PostgreSQL will not maintain carebridge tables by itself: statistics go stale and dead rows pile up as tenants grow; turn autovacuum on, or run VACUUM (ANALYZE) regularly',
      );
  }
  const services = await createServices(config, db);
  if (config.ssoConfigFile) {
    const applied = await applyConnectionFile(services, config.ssoConfigFile).catch((err) => {
      if (!(err instanceof ConnectionFileError)) throw err;
      console.error(`SSO_CONFIG_FILE is invalid: ${err.message}`);
      process.exit(2);
    });
    log.info(
      { connections: applied },
      `applied ${applied.length} SSO connections from SSO_CONFIG_FILE`,
    );
  }
  const app = createApp(services, log);
  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    console.log(
      `carebridge listening on http://localhost:${info.port} (SCIM at ${config.publicUrl}/scim/v2)`,
    );
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
