import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceFactsSQL } from '../../src/care/reference-cache.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

// A batch of care creates checks, in its transaction, the staff members and care
// recipients its accounts name (reference-cache.ts). The statement is prepared once per
// connection, so it runs on a plan made without the values, maybe before the tables were
// ever analyzed: PostgreSQL then believes any one tenant holds 1 in 200 of the rows, and a
// plan that walks the tenant's index and filters on the ids looks as cheap as reading the
// ids. Kept for the connection's life, that plan read every account of the tenant for each
// batch (measured: 6.1 million rows read for 15,000 care creates, PostgreSQL's CPU per
// create 181-243 µs plain against 451-470 µs care).
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodes(child);
}

/** The rows a scan node looked at, over all its loops. */
const rowsRead = (n: PlanNode) =>
  (n['Actual Rows'] +
    (n['Rows Removed by Filter'] ?? 0) +
    (n['Rows Removed by Index Recheck'] ?? 0)) *
  n['Actual Loops'];

describe('The reference check of a batch of care creates', () => {
  it('Should read only the named staff members and recipients of a tenant that was never analyzed', async () => {
    const pool = t.services.db.pool;
    // As on a server whose autovacuum is off, or before its first pass over the tables
    // (PGlite has no autovacuum).
    if (t.database.url) {
      await pool.query('alter table users set (autovacuum_enabled = false)');
      await pool.query('alter table staff_members set (autovacuum_enabled = false)');
    }
    const { tenant } = await t.services.directory.tenants.ensure('refs-plan');
    await pool.query(
      `insert into users (id, tenant_id, user_name, status, attrs, created_at, updated_at)
       select gen_random_uuid(), $1, 'recipient.' || i, 'active', '{}', now(), now()
       from generate_series(1, 6000) i`,
      [tenant.id],
    );
    await pool.query(
      `insert into staff_members (id, tenant_id, display_name, created_at, updated_at)
       select gen_random_uuid(), $1, 'Staff ' || i, now(), now()
       from generate_series(1, 2000) i`,
      [tenant.id],
    );
    const ids = async (sql: string) =>
      (await pool.query<{ id: string }>(sql, [tenant.id])).rows.map((r) => r.id);
    const recipients = await ids(
      `select id from users where tenant_id = $1 and user_name in ('recipient.11', 'recipient.4001')`,
    );
    const staffNamed = await ids(
      `select id from staff_members where tenant_id = $1 and display_name in ('Staff 8', 'Staff 1501')`,
    );
    expect(recipients).toHaveLength(2);
    expect(staffNamed).toHaveLength(2);

    const client = await pool.connect();
    try {
      await client.query('begin');
      // The plan a statement prepared once per connection runs after its first five
      // executions: made without the values.
      await client.query("set local plan_cache_mode = 'force_generic_plan'");
      await client.query(
        `prepare reference_facts(uuid, text[], uuid[], uuid[]) as select ${referenceFactsSQL({
          tenant: '$1',
          sites: '$2',
          staff: '$3',
          recipients: '$4',
        })} as facts`,
      );
      const array = (ids: string[]) => client.escapeLiteral(`{${ids.join(',')}}`);
      const args = `${client.escapeLiteral(tenant.id)}, '{}', ${array(staffNamed)}, ${array(recipients)}`;
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (analyze, format json) execute reference_facts(${args})`,
      );
      const plan = rows[0]?.['QUERY PLAN'][0].Plan as PlanNode;
      const scans = [...nodes(plan)].filter((n) =>
        ['users', 'staff_members'].some(
          (table) => n['Relation Name'] === table || n['Index Name']?.startsWith(`${table}_`),
        ),
      );
      expect(scans.length).toBeGreaterThan(0);
      for (const n of scans) {
        expect(
          rowsRead(n),
          `${n['Node Type']} on ${n['Index Name'] ?? n['Relation Name']}`,
        ).toBeLessThanOrEqual(2);
      }
      // And it still answers what the tables hold.
      const { rows: facts } = await client.query<{
        facts: { staff: Record<string, string>; recipients: Record<string, true> };
      }>(`execute reference_facts(${args})`);
      expect(Object.keys(facts[0]?.facts.recipients ?? {}).sort()).toEqual([...recipients].sort());
      expect(Object.keys(facts[0]?.facts.staff ?? {}).sort()).toEqual([...staffNamed].sort());
    } finally {
      await client.query('rollback');
      await client.query('deallocate all');
      client.release();
    }
  });

  it("Should not find another tenant's staff members and recipients", async () => {
    const pool = t.services.db.pool;
    const { tenant: mine } = await t.services.directory.tenants.ensure('refs-mine');
    const { tenant: theirs } = await t.services.directory.tenants.ensure('refs-theirs');
    const { rows: users } = await pool.query<{ id: string; status: string }>(
      `insert into users (id, tenant_id, user_name, status, attrs, created_at, updated_at)
       values (gen_random_uuid(), $1, 'theirs.recipient', 'active', '{}', now(), now()),
              (gen_random_uuid(), $2, 'mine.deleted', 'deleted', '{}', now(), now()),
              (gen_random_uuid(), $2, 'mine.recipient', 'active', '{}', now(), now())
       returning id, status`,
      [theirs.id, mine.id],
    );
    const { rows: staff } = await pool.query<{ id: string }>(
      `insert into staff_members (id, tenant_id, display_name, created_at, updated_at)
       values (gen_random_uuid(), $1, 'Theirs', now(), now()),
              (gen_random_uuid(), $2, 'Mine', now(), now())
       returning id`,
      [theirs.id, mine.id],
    );
    const { rows } = await pool.query<{
      facts: { staff: Record<string, string>; recipients: Record<string, true> };
    }>(
      `select ${referenceFactsSQL({ tenant: '$1', sites: '$2', staff: '$3', recipients: '$4' })} as facts`,
      [mine.id, [], staff.map((s) => s.id), users.map((u) => u.id)],
    );
    expect(rows[0]?.facts.recipients).toEqual({ [users[2]?.id as string]: true });
    expect(rows[0]?.facts.staff).toEqual({ [staff[1]?.id as string]: 'Mine' });
  });
});
