import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchedTransaction, sendBatch, transactionInOneTrip } from '../../src/db/sql.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// The hot write paths send a whole transaction in one round trip (src/db/sql.ts). What a
// caller relies on: answers in order, all or nothing, and a usable connection afterwards.
describe('transactions sent in one round trip', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase();
    await t.db.pool.query('create table batch_probe (id int primary key, note text)');
  });

  afterAll(async () => {
    await t.drop();
  });

  const count = async () =>
    Number((await t.db.pool.query('select count(*) as n from batch_probe')).rows[0].n);

  it('Should answer every statement of the batch with its own result, in order', async () => {
    const results = await transactionInOneTrip(t.db.pool, [
      { text: 'insert into batch_probe values ($1, $2) returning id', values: [1, 'one'] },
      { text: 'insert into batch_probe values ($1, $2) returning id', values: [2, 'two'] },
      { text: 'select count(*)::int as n from batch_probe' },
    ]);
    expect(results.map((r) => r.rows[0])).toEqual([{ id: 1 }, { id: 2 }, { n: 2 }]);
    expect(await count()).toBe(2);
  });

  it('Should keep nothing of a batch in which one statement fails, and throw that failure', async () => {
    const before = await count();
    const failure = await transactionInOneTrip(t.db.pool, [
      { text: 'insert into batch_probe values ($1, $2)', values: [10, 'kept?'] },
      { text: 'insert into batch_probe values ($1, $2)', values: [1, 'duplicate'] },
      { text: 'insert into batch_probe values ($1, $2)', values: [11, 'after'] },
    ]).catch((err: unknown) => err);
    // The duplicate key, not the "transaction is aborted" of the statements after it.
    expect(failure).toMatchObject({ code: '23505' });
    expect(await count()).toBe(before);
    const { rows } = await t.db.pool.query('select id from batch_probe where id in (10, 11)');
    expect(rows).toEqual([]);
  });

  it('Should leave every pooled connection usable after failed batches', async () => {
    for (let i = 0; i < 30; i++) {
      await transactionInOneTrip(t.db.pool, [
        { text: 'insert into batch_probe values ($1, $2)', values: [1, 'duplicate'] },
      ]).catch(() => undefined);
    }
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.db.pool.query('select $1::int as i', [i]).then((r) => r.rows[0].i),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('Should keep what a batched transaction commits and drop what it rolls back', async () => {
    const kept = await BatchedTransaction.begin(t.db.pool, [
      { text: 'insert into batch_probe values ($1, $2)', values: [20, 'kept'] },
    ]);
    await kept.tx.commit([
      { text: 'update batch_probe set note = $2 where id = $1', values: [20, 'x'] },
      { text: 'insert into batch_probe values ($1, $2)', values: [21, 'kept'] },
    ]);

    const dropped = await BatchedTransaction.begin(t.db.pool, [
      { text: 'insert into batch_probe values ($1, $2)', values: [22, 'dropped'] },
    ]);
    await dropped.tx.rollback();

    const { rows } = await t.db.pool.query(
      'select id, note from batch_probe where id >= 20 order by id',
    );
    expect(rows).toEqual([
      { id: 20, note: 'x' },
      { id: 21, note: 'kept' },
    ]);
  });

  it('Should see, in each statement of a batch, what the statements before it wrote', async () => {
    // What the user write path relies on: the rule lock's statement ends before the write's
    // snapshot is taken, so the write sees everything committed while it waited.
    const client = await t.db.pool.connect();
    try {
      const results = await sendBatch(client, [
        { text: 'begin' },
        { text: 'insert into batch_probe values ($1, $2)', values: [30, 'first'] },
        { text: 'select note from batch_probe where id = $1', values: [30] },
        { text: 'rollback' },
      ]);
      expect(results[2]?.rows).toEqual([{ note: 'first' }]);
    } finally {
      client.release();
    }
    expect((await t.db.pool.query('select 1 from batch_probe where id = 30')).rows).toEqual([]);
  });
});
