import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DirectoryContext, SYSTEM_ACTOR } from '../../src/directory/actor.ts';
import {
  addMembersTogether,
  type PendingGroupUpdate,
} from '../../src/directory/group-member-adds.ts';
import type { GroupRecord } from '../../src/directory/group-record.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

// A batch of member additions, given in one call so that which updates share the batch
// does not depend on timing: each pair a batch inserts belongs to the first update that
// asked for it and was not refused, as if the updates had been sent one after the other.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const STRANGER = '0193e3a0-0000-7000-8000-0000000000aa';

/** A tenant of its own with `count` active accounts, and the context to write in it. */
async function tenantWithUsers(name: string, count: number) {
  const { tenant } = await t.services.directory.tenants.ensure(name);
  const ctx = { tenantId: tenant.id, actor: SYSTEM_ACTOR, requestId: null };
  const made = await t.services.directory.users.createMany(
    ctx,
    Array.from({ length: count }, (_, i) => ({
      userName: `${name}.${i}@example.org`,
      externalId: null,
      status: 'active' as const,
      attrs: {},
    })),
  );
  return { tenant, ctx, users: made.map((m) => (m.ok ? m.id : '')) };
}

/** An update of group `id` that only adds `ids`, as the SCIM door gives one. */
function adding(ctx: DirectoryContext, id: string, ids: string[]): PendingGroupUpdate {
  return {
    ctx,
    id,
    change: (current: GroupRecord) => ({
      input: {
        displayName: current.displayName,
        externalId: current.externalId,
        attrs: current.attrs,
      },
      members: { add: ids, remove: [] },
    }),
  };
}

describe('A batch of member additions', () => {
  it('Should give each added member to the first update asking for it that is not refused', async () => {
    const { ctx, users } = await tenantWithUsers('member-adds-batch', 3);
    const [a, b, c] = users;
    const group = await t.services.directory.groups.create(
      ctx,
      { displayName: 'Batch ward', externalId: null, attrs: {} },
      [c as string],
    );
    const add = (ids: string[]) => adding(ctx, group.id, ids);
    const outcomes = await addMembersTogether(t.services.db.pool, [
      add([a as string, STRANGER]), // refused as a whole: a is not its addition
      add([a as string]), // a is added here
      add([b as string, c as string]), // b is added here; c was a member already
      add([b as string, a as string]), // both were added by the updates before it
    ]);

    expect(outcomes[0]).toMatchObject({ ok: false });
    const versions = outcomes.slice(1).map((o) => ('ok' in o && o.ok ? o.value : undefined));
    expect(versions.map((v) => v?.changed)).toEqual([true, true, false]);
    expect(versions.map((v) => v?.group.version)).toEqual([2, 3, 3]);

    const { rows: events } = await t.services.db.pool.query<{
      after: { membersAdded: string[] };
    }>(
      `select after from audit_events where type = 'group.updated' and subject_id = $1 order by id`,
      [group.id],
    );
    expect(events.map((e) => e.after.membersAdded)).toEqual([[a], [b]]);
    const { rows: members } = await t.services.db.pool.query<{ user_id: string }>(
      'select user_id from group_members where group_id = $1 order by user_id',
      [group.id],
    );
    expect(members.map((m) => m.user_id)).toEqual([a, b, c].map(String).sort());
  });

  it('Should let two batches add to the same groups at once and number their versions in turn', async () => {
    const { tenant, ctx, users } = await tenantWithUsers('member-adds-side-by-side', 40);
    const group = (name: string) =>
      t.services.directory.groups.create(
        ctx,
        { displayName: name, externalId: null, attrs: {} },
        [],
      );
    const [north, south] = await Promise.all([group('Side north'), group('Side south')]);
    const slice = (from: number) => users.slice(from, from + 5);
    // The two batches name the groups in opposite orders: their version locks must not
    // deadlock, and neither batch's members or versions may be lost to the other.
    const [first, second] = await Promise.all([
      addMembersTogether(t.services.db.pool, [
        adding(ctx, north.id, slice(0)),
        adding(ctx, south.id, slice(5)),
        adding(ctx, north.id, slice(10)),
      ]),
      addMembersTogether(t.services.db.pool, [
        adding(ctx, south.id, slice(15)),
        adding(ctx, north.id, slice(20)),
        adding(ctx, south.id, slice(25)),
      ]),
    ]);
    const answered = [...first, ...second].map((o) => ('ok' in o && o.ok ? o.value : undefined));
    expect(answered.every((a) => a?.changed)).toBe(true);
    for (const g of [north, south]) {
      const versions = answered
        .filter((a) => a?.group.id === g.id)
        .map((a) => a?.group.version)
        .sort();
      expect(versions).toEqual([2, 3, 4]);
      const { rows } = await t.services.db.pool.query<{ version: number }>(
        `select version from change_events where resource_id = $1 and operation = 'updated' order by version`,
        [g.id],
      );
      expect(rows.map((r) => r.version)).toEqual([2, 3, 4]);
      expect((await t.services.directory.groups.get(tenant.id, g.id)).version).toBe(4);
    }
    const { rows: members } = await t.services.db.pool.query<{ n: number }>(
      'select count(*)::int as n from group_members where group_id = any($1::uuid[])',
      [[north.id, south.id]],
    );
    expect(members[0]?.n).toBe(30);
  });
});
