import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/database.ts';

/**
 * A database of its own for one test file: a fresh database on the PostgreSQL server of
 * `DATABASE_URL` when it is set, else an in-memory PGlite. `drop()` removes it.
 */
export interface TestDatabase {
  db: Database;
  /** How to reach this database again (a URL, or the PGlite socket directory). */
  url: string | undefined;
  socketDir: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env['DATABASE_URL'];
  if (!serverUrl) {
    const socketDir = mkdtempSync(join(tmpdir(), 'cb-test-'));
    const db = await openDatabase({ socketDir });
    return {
      db,
      url: undefined,
      socketDir,
      async drop() {
        await db.close();
        rmSync(socketDir, { recursive: true, force: true });
      },
    };
  }
  const scratch = await createScratchDatabase(serverUrl, 'cb_test');
  const db = await openDatabase({ url: scratch.url });
  return {
    db,
    url: scratch.url,
    socketDir: undefined,
    async drop() {
      await db.close();
      await scratch.drop();
    },
  };
}

/**
 * A new, empty database on the PostgreSQL server of `serverUrl`, for a test that starts
 * carebridge or the CLI in a child process: its URL, and how to drop it.
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
