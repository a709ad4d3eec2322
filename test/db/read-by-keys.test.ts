import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readByKeys } from '../../src/db/sql.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

const BY_KEY = {
  name: 'test_rows_by_key',
  text: 'select id from rows_by_key where id = any($1::int[])',
  values: [[1, 2]],
};

/** The plan the connection's prepared statement would run now. */
async function planOf(client: pg.PoolClient): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(
    `explain execute ${BY_KEY.name}('{1,2}')`,
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('reads prepared once per connection and planned by key', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });

  // PGlite runs every statement unnamed (src/db/database.ts): nothing is kept there.
  it.skipIf(!process.env['DATABASE_URL'])(
    'Should keep an index plan for a statement first planned while its table was small',
    async () => {
      const client = await t.db.pool.connect();
      try {
        await client.query('begin');
        await client.query('create temp table rows_by_key (id int primary key, v text)');
        await client.query("insert into rows_by_key select i, 'x' from generate_series(1, 20) i");
        await client.query('analyze rows_by_key');
        // Past the planner's first five custom plans: the generic plan it keeps is the one seen.
        for (let i = 0; i < 7; i++) await readByKeys(client, BY_KEY);
        // The table grows; nothing analyzes it, so the kept plan is not made again.
        await client.query(
          "insert into rows_by_key select i, 'x' from generate_series(21, 50000) i",
        );
        const plan = await planOf(client);
        expect(plan).toContain('rows_by_key_pkey');
        expect(plan).not.toContain('Seq Scan');
        // The rest of the transaction plans as usual.
        const { rows } = await client.query<{ enable_seqscan: string }>('show enable_seqscan');
        expect(rows[0]?.enable_seqscan).toBe('on');
        await client.query('rollback');
      } finally {
        client.release();
      }
    },
  );

  it('Should run on the pool in a transaction of its own and answer the rows', async () => {
    const { rows } = await readByKeys<{ relname: string }>(t.db.pool, {
      name: 'test_relations_by_key',
      text: 'select relname from pg_class where oid = any($1::regclass[])',
      values: [['users', 'groups']],
    });
    expect(rows.map((r) => r.relname).sort()).toEqual(['groups', 'users']);
    const { rows: after } = await t.db.pool.query<{ enable_seqscan: string }>(
      'show enable_seqscan',
    );
    expect(after[0]?.enable_seqscan).toBe('on');
  });
});
