import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { serveWireProtocol } from './pglite-wire-server.ts';

/** A PGlite database served over the PostgreSQL wire protocol on a Unix socket. */
export interface EmbeddedPostgres {
  /** The directory of the Unix socket: pg and MikroORM take it as `host`. */
  socketDir: string;
  /** False when another process (a running server) already serves this data dir. */
  owned: boolean;
  stop(): Promise<void>;
}

const SOCKET_NAME = '.s.PGSQL.5432';

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.end();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
  });
}

/**
 * Opens the embedded database. PGlite allows one process per data directory, so the
 * process that opens it serves it on a Unix socket in `socketDir`; a second process (the
 * CLI while the server runs) finds that socket and connects to it instead of opening the
 * files. Without `dataDir` the database lives in memory (tests).
 */
export async function startEmbeddedPostgres(opts: {
  dataDir?: string;
  socketDir: string;
}): Promise<EmbeddedPostgres> {
  mkdirSync(opts.socketDir, { recursive: true });
  const socketPath = join(opts.socketDir, SOCKET_NAME);
  if (existsSync(socketPath)) {
    if (await socketAnswers(socketPath)) {
      return { socketDir: opts.socketDir, owned: false, stop: async () => {} };
    }
    rmSync(socketPath); // left by a process that died
  }
  const db = await PGlite.create(opts.dataDir ? join(opts.dataDir, 'pgdata') : undefined);
  const server = await serveWireProtocol(db, socketPath);
  return {
    socketDir: opts.socketDir,
    owned: true,
    async stop() {
      await server.stop();
      await db.close();
      rmSync(socketPath, { force: true });
    },
  };
}
