import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { auditStatement } from '../audit/audit-log.ts';
import { BatchedTransaction, type Statement } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import {
  type GroupInput,
  type GroupRecord,
  type GroupRow,
  groupFromRow,
  groupNotFound,
  type MemberChanges,
  noSuchUsers,
  systemGroupRefused,
} from './group-record.ts';
import { isResourceId } from './users.ts';

/** A group change as the door gives it: what to store and which members to add or remove. */
export type GroupChange = (current: GroupRecord) => { input: GroupInput; members?: MemberChanges };

/** One group update waiting in the coalescer. */
export interface PendingGroupUpdate {
  ctx: DirectoryContext;
  id: string;
  change: GroupChange;
}

export type GroupUpdateResult = { group: GroupRecord; changed: boolean };

/** What became of one update of a batch: done, failed, or to be sent alone. */
export type MemberAddOutcome =
  | { ok: true; value: GroupUpdateResult }
  | { ok: false; error: unknown }
  | { alone: true };

/**
 * Whether `change`, applied to `current`, only adds manual members: the group itself, its
 * rule and its other members stay as they are. Only such changes are sent together.
 */
export function onlyAddsMembers(
  current: GroupRecord,
  changed: { input: GroupInput; members?: MemberChanges },
): boolean {
  const { input, members } = changed;
  if (!members || members.add.length === 0) return false;
  if (members.remove === 'all' || members.remove.length > 0) return false;
  return (
    input.displayName === current.displayName &&
    input.externalId === current.externalId &&
    (input.rule === undefined || (input.rule ?? null) === current.rule) &&
    (input.grants === undefined || isDeepStrictEqual(input.grants, current.grants)) &&
    isDeepStrictEqual(input.attrs, current.attrs)
  );
}

// Which asked-for users are not accounts of the tenant (`missing`, per update), and which
// (group, user) pairs were inserted: every asked-for pair of an update with no missing user,
// a pair asked for twice inserted once (ON CONFLICT skips the second row of the same
// command). The caller gives each inserted pair to the first update that asked for it.
// Only exceptions and insertions come back, not a row per asked-for pair. Rows go in key
// order, so two batches cannot deadlock on the index.
const ADD_MEMBERS = `
  with req as (
    select * from unnest($2::int[], $3::uuid[], $4::uuid[]) as r(item, group_id, user_id)
  ), found as (
    select u.id from users u
    where u.tenant_id = $1 and u.id = any($4::uuid[]) and u.status <> 'deleted'
  ), missing as (
    select r.item, r.user_id from req r where r.user_id not in (select id from found)
  ), ins as (
    insert into group_members (tenant_id, group_id, user_id, source)
    select $1, r.group_id, r.user_id, 'manual' from req r
    where r.item not in (select item from missing)
    order by r.group_id, r.user_id
    on conflict do nothing
    returning group_id, user_id
  )
  select m.item, m.user_id, null::uuid as group_id from missing m
  union all
  select null, i.user_id, i.group_id from ins i`;

interface Planned {
  index: number;
  item: PendingGroupUpdate;
  groupId: string;
  users: string[];
}

/**
 * Adds the members of many updates of one tenant and actor in one transaction, as if each
 * were sent alone, one after the other (IdPs push groups in batches of 100 members, many
 * at once, often to one group): the groups' rows are locked in id order, every update's
 * change is applied to its group as the updates before it left it, all additions are one
 * set-based insert, and each update that added someone gets its own version, change event
 * and audit event. An update whose change turns out to do more than add members (its
 * group changed since it was classified) is answered `alone`: the caller sends it by
 * itself.
 */
export async function addMembersTogether(
  pool: pg.Pool,
  items: PendingGroupUpdate[],
): Promise<MemberAddOutcome[]> {
  const first = items[0];
  if (!first) return [];
  const tenantId = first.ctx.tenantId;
  const groupIds = [...new Set(items.map((i) => i.id))].sort();
  const { tx, results } = await BatchedTransaction.begin(pool, [
    {
      name: 'groups_for_write',
      text: 'select * from groups where tenant_id = $1 and id = any($2::uuid[]) order by id for update',
      values: [tenantId, groupIds],
    },
  ]);
  let ended = false;
  try {
    const current = new Map(
      ((results[0]?.rows ?? []) as GroupRow[]).map((r) => [r.id, groupFromRow(r)] as const),
    );
    const outcomes: MemberAddOutcome[] = items.map(() => ({ alone: true }));
    const planned: Planned[] = [];
    for (const [index, item] of items.entries()) {
      const group = current.get(item.id);
      if (!group) {
        outcomes[index] = fail(groupNotFound(item.id));
        continue;
      }
      if (group.kind === 'system') {
        outcomes[index] = fail(systemGroupRefused(group, 'edited'));
        continue;
      }
      let changed: ReturnType<GroupChange>;
      try {
        changed = item.change(group);
      } catch (err) {
        outcomes[index] = fail(err);
        continue;
      }
      // Left as `alone`: the group changed since the door classified this update.
      if (!onlyAddsMembers(group, changed)) continue;
      const users = [...new Set(changed.members?.add ?? [])];
      const bad = users.filter((u) => !isResourceId(u));
      if (bad.length > 0) {
        outcomes[index] = fail(noSuchUsers(bad));
        continue;
      }
      planned.push({ index, item, groupId: group.id, users });
    }

    const rows = planned.flatMap((p) => p.users.map((u) => [p.index, p.groupId, u] as const));
    // Planned each time (not prepared): its plan depends on how many rows the batch adds.
    const { rows: answered } =
      rows.length === 0
        ? { rows: [] }
        : await tx.queryable.query<{
            item: number | null;
            user_id: string;
            group_id: string | null;
          }>(ADD_MEMBERS, [
            tenantId,
            rows.map((r) => r[0]),
            rows.map((r) => r[1]),
            rows.map((r) => r[2]),
          ]);
    const missing = new Map<number, string[]>();
    const inserted = new Set<string>();
    for (const r of answered) {
      if (r.item !== null) {
        const list = missing.get(r.item);
        if (list) list.push(r.user_id);
        else missing.set(r.item, [r.user_id]);
      } else inserted.add(`${r.group_id}\u0000${r.user_id}`);
    }
    // Each inserted pair is the addition of the first update that asked for it.
    const added = new Map<number, string[]>();
    for (const p of planned) {
      if (missing.has(p.index)) continue;
      const mine: string[] = [];
      for (const u of p.users) {
        if (inserted.delete(`${p.groupId}\u0000${u}`)) mine.push(u);
      }
      if (mine.length > 0) added.set(p.index, mine);
    }

    // In the order the updates came: each one that added someone is a new version.
    const now = new Date();
    const versions = new Map<string, number>();
    const statements: Statement[] = [];
    const bumped: { groupId: string; version: number }[] = [];
    const answers: { index: number; groupId: string; version: number; changed: boolean }[] = [];
    for (const p of planned) {
      const group = current.get(p.groupId) as GroupRecord;
      const gone = missing.get(p.index);
      if (gone) {
        outcomes[p.index] = fail(noSuchUsers(gone));
        continue;
      }
      const before = versions.get(p.groupId) ?? group.version;
      const mine = added.get(p.index) ?? [];
      const version = mine.length > 0 ? before + 1 : before;
      versions.set(p.groupId, version);
      answers.push({ index: p.index, groupId: p.groupId, version, changed: mine.length > 0 });
      if (mine.length === 0) continue;
      bumped.push({ groupId: p.groupId, version });
      statements.push(
        auditStatement(p.item.ctx, {
          subjectType: 'group',
          subjectId: p.groupId,
          type: 'group.updated',
          after: { membersAdded: mine, membersRemoved: [] },
        }),
      );
    }
    const touched = [...versions].filter(([id, v]) => v !== current.get(id)?.version);
    if (touched.length > 0) {
      statements.push(
        {
          name: 'groups_set_versions',
          text: `update groups g set version = v.version, updated_at = $4
                 from unnest($2::uuid[], $3::int[]) as v(id, version)
                 where g.tenant_id = $1 and g.id = v.id`,
          values: [tenantId, touched.map((t) => t[0]), touched.map((t) => t[1]), now],
        },
        {
          name: 'group_change_events_many',
          text: `insert into change_events (tenant_id, resource_type, resource_id, operation, version)
                 select $1, 'Group', id, 'updated', version from unnest($2::uuid[], $3::int[]) as v(id, version)`,
          values: [tenantId, bumped.map((b) => b.groupId), bumped.map((b) => b.version)],
        },
      );
    }
    ended = true; // commit() ends the transaction whether or not it fails
    await tx.commit(statements);
    for (const a of answers) {
      const group = current.get(a.groupId) as GroupRecord;
      // An update that added nobody after others added someone sees the group they left.
      const updatedAt = a.version !== group.version ? now : group.updatedAt;
      outcomes[a.index] = {
        ok: true,
        value: { group: { ...group, version: a.version, updatedAt }, changed: a.changed },
      };
    }
    return outcomes;
  } finally {
    if (!ended) await tx.rollback();
  }
}

function fail(error: unknown): MemberAddOutcome {
  return { ok: false, error };
}
