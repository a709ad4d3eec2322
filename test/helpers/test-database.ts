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
  const name = `cb_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString() });
  return {
    db,
    url: url.toString(),
    socketDir: undefined,
    async drop() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
