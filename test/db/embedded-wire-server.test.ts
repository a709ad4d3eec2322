import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/database.ts';

/**
 * The embedded database is one PGlite session shared by every connection. These tests
 * pin what the wire server guarantees on top of it, whatever DATABASE_URL says.
 */
let socketDir: string;
let db: Database;

beforeAll(async () => {
  socketDir = mkdtempSync(join(tmpdir(), 'cb-wire-'));
  db = await openDatabase({ socketDir });
  await db.pool.query('create table wire_probe (n int)');
});
afterAll(async () => {
  await db.close();
  rmSync(socketDir, { recursive: true, force: true });
});

const client = async () => {
  const c = new pg.Client({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  return c;
};

describe('the embedded database under concurrent connections', () => {
  it('Should give every concurrent query its own parameters and result (no interleaved Parse/Bind)', async () => {
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        db.pool.query<{ n: number; s: string }>('select $1::int as n, $2::text as s', [i, `v${i}`]),
      ),
    );
    for (const [i, r] of results.entries()) expect(r.rows).toEqual([{ n: i, s: `v${i}` }]);
  });

  it('Should accept the same named statement from many connections at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.pool.query<{ n: number }>({
          name: 'probe_by_n',
          text: 'select $1::int as n',
          values: [i],
        }),
      ),
    );
    expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('Should answer a result larger than one socket write intact (a 20,000-row list, a 2 MB document)', async () => {
    // PGlite streams a result in chunks over its own memory, which the next chunk reuses:
    // a chunk the socket had to queue was sent as the later bytes, and a large result
    // arrived corrupt ("received invalid response") and the connection hung.
    const rows = await db.pool.query<{ i: number; id: string }>(
      'select i, md5(i::text) as id from generate_series(1, 20000) i',
    );
    expect(rows.rowCount).toBe(20000);
    expect(rows.rows[19999]).toEqual({ i: 20000, id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(rows.rows.every((r, k) => r.i === k + 1)).toBe(true);
    const doc = await db.pool.query<{ doc: string[] }>(
      "select jsonb_agg(lpad(i::text, 40, 'x')) as doc from generate_series(1, 50000) i",
    );
    expect(doc.rows[0]?.doc).toHaveLength(50000);
    expect(doc.rows[0]?.doc[49999]).toBe(`${'x'.repeat(35)}50000`);
  });

  it("Should never run another connection's query inside an open transaction", async () => {
    const a = await client();
    try {
      await a.query('begin');
      await a.query('insert into wire_probe values (1)');
      const outside = db.pool.query<{ count: number }>(
        'select count(*)::int as count from wire_probe',
      );
      await new Promise((r) => setTimeout(r, 50));
      await a.query('rollback');
      expect((await outside).rows[0]?.count).toBe(0);
    } finally {
      await a.end();
    }
  });

  it('Should roll back the transaction of a connection that goes away, and serve the others', async () => {
    const a = await client();
    await a.query('begin');
    await a.query('insert into wire_probe values (2)');
    const waiting = db.pool.query<{ count: number }>(
      'select count(*)::int as count from wire_probe',
    );
    await a.end();
    expect((await waiting).rows[0]?.count).toBe(0);
  });
});

describe('closing the embedded database under an open transaction', () => {
  it('Should close without an unhandled error while a connection is inside a transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-wire-close-'));
    const closing = await openDatabase({ socketDir: dir });
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
      await c.connect();
      c.on('error', () => {});
      await c.query('begin');
      await c.query('select 1');
      await closing.close();
      await c.end().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
