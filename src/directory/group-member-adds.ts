import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { BatchedTransaction, INDEXES_ONLY, inTenant, type Statement } from '../db/sql.ts';
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

// Which asked-for users are not accounts of the tenant (`missing`, per update), which
// updates added someone, and their audit events: every asked-for pair of an update with no
// missing user is inserted, a pair asked for twice once (ON CONFLICT skips the second row
// of the same command), and each inserted pair is the addition of the first update that
// asked for it. The updates ($2 groups, $3 request ids) are numbered from 1 in the order
// they came; each asked-for user ($5) names its update ($4). Written here rather than sent:
// a batch's member lists went to the database twice (the pairs, then each audit event's
// `membersAdded`), and the pairs came back. Rows go in key order, so two batches cannot
// deadlock on the index.
const ADD_MEMBERS = `
  with upd as (
    select * from unnest($2::uuid[], $3::text[]) with ordinality as u(group_id, request_id, item)
  ), req as (
    select r.ord, r.item, u.group_id, r.user_id
    from unnest($4::int[], $5::uuid[]) with ordinality as r(item, user_id, ord)
    join upd u on u.item = r.item
  ), found as (
    select u.id from users u
    where u.id = any($5::uuid[]) and ${inTenant('u', '$1')} and u.status <> 'deleted'
  ), missing as (
    select r.item, r.user_id from req r where r.user_id not in (select id from found)
  ), ins as (
    insert into group_members (tenant_id, group_id, user_id, source)
    select $1, r.group_id, r.user_id, 'manual' from req r
    where r.item not in (select item from missing)
    order by r.group_id, r.user_id
    on conflict do nothing
    returning group_id, user_id
  ), owned as (
    select distinct on (i.group_id, i.user_id) r.item, r.ord, i.user_id
    from ins i join req r on r.group_id = i.group_id and r.user_id = i.user_id
    where r.item not in (select item from missing)
    order by i.group_id, i.user_id, r.item
  ), audits as (
    insert into audit_events
      (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
    select $1, $6, $7, 'group', u.group_id, 'group.updated', null,
           jsonb_build_object('membersAdded', jsonb_agg(o.user_id order by o.ord),
                              'membersRemoved', '[]'::jsonb),
           u.request_id
    from owned o join upd u on u.item = o.item
    group by u.item, u.group_id, u.request_id
    order by u.item
  )
  select m.item::int, m.user_id from missing m
  union all
  select o.item::int, null from owned o group by o.item`;

interface Planned {
  index: number;
  item: PendingGroupUpdate;
  groupId: string;
  users: string[];
}

/**
 * Adds the members of many updates of one tenant and actor in one transaction, as if each
 * were sent alone, one after the other (IdPs push groups in batches of 100 members, many
 * at once, often to one group). The groups' rows are key-share locked in id order: two
 * batches of additions may insert into one group at once, while a change that does more
 * (it locks the row for update) or a delete waits for them and they for it. Every
 * update's change is applied to its group, all additions are one set-based insert, and
 * each update that added someone gets its own version, change event and audit event: the
 * versions are counted at the end from the group's row, locked for that in id order, so
 * batches that add to one group number their versions in the order they commit. An
 * update whose change turns out to do more than add members (its group changed since it
 * was classified) is answered `alone`: the caller sends it by itself.
 */
export async function addMembersTogether(
  pool: pg.Pool,
  items: PendingGroupUpdate[],
): Promise<MemberAddOutcome[]> {
  const first = items[0];
  if (!first) return [];
  const tenantId = first.ctx.tenantId;
  const groupIds = [...new Set(items.map((i) => i.id))].sort();
  // Every statement of the batch reaches its rows by key; prepared once per connection, so
  // planned without sequential scans (INDEXES_ONLY), for the whole transaction.
  const { tx, results } = await BatchedTransaction.begin(pool, [
    INDEXES_ONLY,
    {
      name: 'groups_for_member_adds',
      text: 'select * from groups where tenant_id = $1 and id = any($2::uuid[]) order by id for key share',
      values: [tenantId, groupIds],
    },
  ]);
  let ended = false;
  try {
    const current = new Map(
      ((results[1]?.rows ?? []) as GroupRow[]).map((r) => [r.id, groupFromRow(r)] as const),
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

    const { rows: answered } =
      planned.length === 0
        ? { rows: [] }
        : await tx.queryable.query<{ item: number; user_id: string | null }>({
            name: 'group_members_add',
            text: ADD_MEMBERS,
            values: [
              tenantId,
              planned.map((p) => p.groupId),
              planned.map((p) => p.item.ctx.requestId),
              planned.flatMap((p, n) => p.users.map(() => n + 1)),
              planned.flatMap((p) => p.users),
              first.ctx.actor.type,
              first.ctx.actor.id,
            ],
          });
    const missing = new Map<number, string[]>();
    const adding = new Set<number>();
    for (const r of answered) {
      const index = (planned[r.item - 1] as Planned).index;
      if (r.user_id === null) adding.add(index);
      else {
        const list = missing.get(index);
        if (list) list.push(r.user_id);
        else missing.set(index, [r.user_id]);
      }
    }

    // In the order the updates came: each one that added someone is a new version, counted
    // from the group's version when this batch commits (another batch may add to it too).
    const now = new Date();
    const statements: Statement[] = [];
    const adders = new Map<string, number>();
    const answers: { index: number; groupId: string; rank: number; changed: boolean }[] = [];
    for (const p of planned) {
      const gone = missing.get(p.index);
      if (gone) {
        outcomes[p.index] = fail(noSuchUsers(gone));
        continue;
      }
      const changed = adding.has(p.index);
      const rank = (adders.get(p.groupId) ?? 0) + (changed ? 1 : 0);
      adders.set(p.groupId, rank);
      answers.push({ index: p.index, groupId: p.groupId, rank, changed });
    }
    const bumps = [...adders].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1));
    const versionsAt = statements.length + 1;
    if (bumps.length > 0) {
      const ids = bumps.map(([id]) => id);
      statements.push(
        // In id order, so two batches bumping the same groups cannot deadlock.
        {
          name: 'groups_lock_for_versions',
          text: 'select id from groups where tenant_id = $1 and id = any($2::uuid[]) order by id for no key update',
          values: [tenantId, ids],
        },
        {
          name: 'groups_bump_versions',
          text: `with bumped as (
                   update groups g set version = g.version + v.n, updated_at = $4
                   from unnest($2::uuid[], $3::int[]) as v(id, n)
                   where g.tenant_id = $1 and g.id = v.id
                   returning g.id, g.version, v.n
                 ), events as (
                   insert into change_events (tenant_id, resource_type, resource_id, operation, version)
                   select $1, 'Group', b.id, 'updated', b.version - b.n + s.i
                   from bumped b cross join lateral generate_series(1, b.n) as s(i)
                 )
                 select id, version from bumped`,
          values: [tenantId, ids, bumps.map(([, n]) => n), now],
        },
      );
    }
    ended = true; // commit() ends the transaction whether or not it fails
    const committed = await tx.commit(statements);
    // Each group's version before this batch's additions, as they were committed.
    const base = new Map<string, number>();
    for (const row of (committed[versionsAt]?.rows ?? []) as { id: string; version: number }[]) {
      base.set(row.id, row.version - (adders.get(row.id) ?? 0));
    }
    for (const a of answers) {
      const group = current.get(a.groupId) as GroupRecord;
      const before = base.get(a.groupId);
      // An update that added nobody after others added someone sees the group they left.
      const value =
        before === undefined
          ? { ...group }
          : { ...group, version: before + a.rank, updatedAt: a.rank > 0 ? now : group.updatedAt };
      outcomes[a.index] = { ok: true, value: { group: value, changed: a.changed } };
    }
    return outcomes;
  } finally {
    if (!ended) await tx.rollback();
  }
}

function fail(error: unknown): MemberAddOutcome {
  return { ok: false, error };
}
