import type { Queryable } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { groupVersionBumps, tenantRuleCases, type UserWriteAudit } from './user-memberships.ts';

/**
 * $1 tenant, $2 user ids, $3 actor type, $4 actor id, $5 audit type, $6 request id, $7 rule
 * group ids, $8 the audit `before` of each user (a JSON array in the order of $2), $9
 * their `after`. A batch of creates never leaves active: no manual membership to remove.
 */
const FIXED = 9;

/**
 * What src/directory/user-memberships.ts does for one user, for a batch of users in one
 * statement (the CSV import's creates): every rule of the tenant is evaluated against
 * each user row, the memberships inserted, each group whose membership changed bumped
 * once for the batch with one change event, and one audit event per user with what was
 * added and removed (`membershipsAdded`, `membershipsRemoved` beside the account in
 * `after`). Runs in the caller's transaction, which holds the tenant's rule lock (shared);
 * the rule set is read in that transaction, so it is the tenant's current one.
 */
export async function syncMemberships(
  tx: Queryable,
  ctx: DirectoryContext,
  users: { id: string; audit: UserWriteAudit }[],
): Promise<{ added: number }> {
  if (users.length === 0) return { added: 0 };
  const { groupIds, cases, params } = await tenantRuleCases(tx, ctx.tenantId, FIXED);
  const { rows } = await tx.query<{ added: number }>(statement(cases), [
    ctx.tenantId,
    users.map((u) => u.id),
    ctx.actor.type,
    ctx.actor.id,
    users[0]?.audit.type,
    ctx.requestId,
    groupIds,
    JSON.stringify(users.map((u) => u.audit.before)),
    JSON.stringify(users.map((u) => u.audit.after)),
    ...params,
  ]);
  return { added: rows[0]?.added ?? 0 };
}

function statement(cases: string[]): string {
  const hit =
    cases.length === 0
      ? 'select null::uuid as user_id, unnest($7::uuid[]) as group_id where false'
      : `select u.id as user_id, r.group_id
         from users u
         cross join lateral unnest(array_remove(array[${cases.join(', ')}], null)) as h(n)
         join unnest($7::uuid[]) with ordinality as r(group_id, n) on r.n = h.n
         where u.tenant_id = $1 and u.id = any($2::uuid[]) and u.status = 'active'`;
  return `
    with subjects as (
      select s.user_id, s.ord from unnest($2::uuid[]) with ordinality as s(user_id, ord)
    ), hit as (${hit}),
    wanted as (
      select user_id, group_id, 'rule'::text as source from hit
      union all
      select u.id, g.id, 'system'::text from users u
      join groups g on g.tenant_id = $1 and g.kind = 'system'
      where u.tenant_id = $1 and u.id = any($2::uuid[]) and u.status = 'active'
    ), ins as (
      insert into group_members (tenant_id, group_id, user_id, source)
      select $1, group_id, user_id, source from wanted
      on conflict do nothing
      returning group_id, user_id, source
    ), ${groupVersionBumps('select group_id from ins')}, audit as (
      insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
      select $1, $3, $4, 'user', s.user_id, $5,
        nullif($8::jsonb -> (s.ord::int - 1), 'null'::jsonb),
        ($9::jsonb -> (s.ord::int - 1))
          || coalesce((select jsonb_build_object('membershipsAdded', jsonb_agg(jsonb_build_object('group', i.group_id, 'source', i.source) order by i.group_id, i.source))
                       from ins i where i.user_id = s.user_id having count(*) > 0), '{}'::jsonb),
        $6
      from subjects s
    )
    select (select count(*) from ins)::int as added`;
}
