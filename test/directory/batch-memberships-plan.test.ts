import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/directory/actor.ts';
import { UserMemberships } from '../../src/directory/user-memberships.ts';
import { batchMembershipStatements } from '../../src/directory/user-memberships-batch.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

// The memberships statement of a batch of user writes (creates, coalesced PATCHes, staff
// renames) must read the batch's accounts by key, whatever the planner believes of the
// table: a tenant grows by thousands of accounts between two ANALYZEs (and PostgreSQL in
// CI runs without autovacuum), and a plan that scans the tenant's accounts for every batch
// makes each create cost more the more accounts there are.
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
  Plans?: PlanNode[];
}

function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodes(child);
}

describe('The memberships statement of a batch of user writes', () => {
  it('Should read only the accounts of the batch when the tenant has grown since it was analyzed', async () => {
    const pool = t.services.db.pool;
    const { tenant } = await t.services.directory.tenants.ensure('plan-growth');
    const ctx = { tenantId: tenant.id, actor: SYSTEM_ACTOR, requestId: null };
    const batch = await t.services.directory.users.createMany(
      ctx,
      Array.from({ length: 5 }, (_, i) => ({
        userName: `batch.${i}@example.org`,
        externalId: null,
        status: 'active' as const,
        attrs: {},
      })),
    );
    const ids = batch.map((b) => (b.ok ? b.id : ''));
    expect(ids.every((id) => id !== '')).toBe(true);
    const grow = (from: number, to: number) =>
      pool.query(
        `insert into users (id, tenant_id, user_name, status, attrs, created_at, updated_at)
         select gen_random_uuid(), $1, 'grown.' || i, 'active', '{}', now(), now()
         from generate_series($2::int, $3::int) i`,
        [tenant.id, from, to],
      );
    await grow(1, 3000);
    await pool.query('analyze users');
    await grow(3001, 6000);

    const set = await new UserMemberships().ruleSet(pool, tenant.id);
    const [indexesOnly, memberships] = batchMembershipStatements(
      set,
      ctx,
      ids.map((id) => ({ id, audit: { type: 'user.updated', before: null, after: {} } })),
    );
    if (!indexesOnly || !memberships) throw new Error('no memberships statement');
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(indexesOnly.text);
      // As a statement prepared once per connection runs after its first five executions
      // (the generic plan, made without the values), and with joins that read each side
      // once: the plan the planner picks for a table it believes small.
      await client.query("set local plan_cache_mode = 'force_generic_plan'");
      await client.query('set local enable_nestloop = off');
      await client.query(`prepare batch_memberships as ${memberships.text}`);
      // EXECUTE under EXPLAIN takes its values as SQL literals.
      const literal = (v: unknown): string => {
        if (v === null || v === undefined) return 'null';
        if (!Array.isArray(v)) return client.escapeLiteral(String(v));
        const items = v.map((e) =>
          e === null ? 'NULL' : `"${String(e).replace(/(["\\])/g, '\\$1')}"`,
        );
        return client.escapeLiteral(`{${items.join(',')}}`);
      };
      const args = (memberships.values ?? []).map(literal).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (analyze, format json) execute batch_memberships(${args})`,
      );
      const plan = rows[0]?.['QUERY PLAN'][0].Plan as PlanNode;
      const onUsers = [...nodes(plan)].filter(
        (n) => n['Relation Name'] === 'users' || n['Index Name']?.startsWith('users_'),
      );
      expect(onUsers.length).toBeGreaterThan(0);
      for (const n of onUsers) {
        expect(
          n['Actual Rows'],
          `${n['Node Type']} on ${n['Index Name'] ?? n['Relation Name']}`,
        ).toBeLessThanOrEqual(ids.length);
      }
    } finally {
      await client.query('rollback');
      await client.query('deallocate all');
      client.release();
    }
  });
});
