import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autovacuumGaps } from '../../src/db/autovacuum-check.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// PGlite runs single-user, without autovacuum: carebridge does not check it there.
describe.skipIf(!process.env['DATABASE_URL'])('the autovacuum check at start', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });

  it("Should report the server's autovacuum setting as it is", async () => {
    const { rows } = await t.db.pool.query<{ on: boolean }>(
      "select current_setting('autovacuum') = 'on' as on",
    );
    const gaps = await autovacuumGaps(t.db.pool);
    expect(gaps.includes('autovacuum is off on the server')).toBe(!rows[0]?.on);
    expect(gaps.some((g) => g.includes('table'))).toBe(false);
  });

  it('Should name a busy table whose autovacuum is disabled', async () => {
    await t.db.pool.query('alter table group_members set (autovacuum_enabled = off)');
    try {
      expect(await autovacuumGaps(t.db.pool)).toContain(
        'autovacuum is disabled on table group_members',
      );
    } finally {
      await t.db.pool.query('alter table group_members reset (autovacuum_enabled)');
    }
    expect(await autovacuumGaps(t.db.pool)).not.toContain(
      'autovacuum is disabled on table group_members',
    );
  });
});
