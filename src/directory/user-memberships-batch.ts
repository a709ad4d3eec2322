import {
  INDEXES_ONLY,
  inTenant,
  type Queryable,
  SEQSCAN_DEFAULT,
  type Statement,
  statementName,
} from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import {
  groupVersionBumps,
  type RuleSet,
  ruleCases,
  tenantRuleCases,
  type UserWriteAudit,
} from './user-memberships.ts';

/**
 * $1 tenant, $2 user ids, $3 actor type, $4 actor id, $5 audit type, $6 request id, $7 rule
 * group ids, $8 the audit `before` of each user (a JSON array in the order of $2), $9
 * their `after`, $10 whether each user left `active` with this write (its manual
 * memberships end too), $11 the request of each user's write ($6 when null).
 */
const FIXED = 11;

/** One user of a batch write, as its membership statement needs it. */
export interface BatchMember {
  id: string;
  audit: UserWriteAudit;
  /** The write moved the account out of `active`. */
  leaving?: boolean;
  /** The request this user's write came in (coalesced creates); else the context's. */
  requestId?: string | null;
}

/**
 * What src/directory/user-memberships.ts does for one user, for a batch of users in one
 * statement (batches of updates, staff renames): every rule of the tenant is evaluated
 * against each user row as stored, missing rule and system memberships inserted, stale
 * ones deleted (and the manual ones of a user who left `active`), each group whose
 * membership changed bumped once for the batch with one change event, and one audit event
 * per user with what was added and removed (`membershipsAdded`, `membershipsRemoved`
 * beside the account in `after`). Runs in the caller's transaction, after its row writes,
 * which holds the tenant's rule lock (shared); the rule set is read in that transaction,
 * so it is the tenant's current one. All users of a batch share one audit type.
 */
export async function syncMemberships(
  tx: Queryable,
  ctx: DirectoryContext,
  users: BatchMember[],
): Promise<{ added: number; removed: number }> {
  if (users.length === 0) return { added: 0, removed: 0 };
  // Prepared once per connection, so planned without sequential scans (INDEXES_ONLY); sent
  // on the transaction's connection ahead of the rules read, in the same round trip.
  const [, { groupIds, cases, params }] = await Promise.all([
    tx.query(INDEXES_ONLY),
    tenantRuleCases(tx, ctx.tenantId, FIXED),
  ]);
  const [written] = await Promise.all(
    membershipStatements(ctx, users, { groupIds, cases, params }).map((st) => tx.query(st)),
  );
  const { rows } = written as { rows: { added: number; removed: number }[] };
  return { added: rows[0]?.added ?? 0, removed: rows[0]?.removed ?? 0 };
}

const compiledForSet = new WeakMap<RuleSet, { cases: string[]; params: unknown[] }>();

/**
 * What {@link syncMemberships} sends, with the rules of a rule set the caller already
 * holds (src/directory/user-memberships.ts caches one per tenant), so a batch of creates
 * can send it in the same round trip as its rows. The caller checks in the transaction
 * that `set` is still the tenant's. Users of `users` that the transaction did not store
 * get nothing (no membership, no audit event): a create skipped for a taken userName.
 * The memberships statement is the second; the others are the planner settings.
 */
export function batchMembershipStatements(
  set: RuleSet,
  ctx: DirectoryContext,
  users: BatchMember[],
): Statement[] {
  let compiled = compiledForSet.get(set);
  if (!compiled) {
    compiled = ruleCases(set.rules, FIXED);
    compiledForSet.set(set, compiled);
  }
  return [
    INDEXES_ONLY,
    ...membershipStatements(ctx, users, { groupIds: set.groupIds, ...compiled }),
  ];
}

/** The memberships statement between the planner settings it is sent with. */
function membershipStatements(
  ctx: DirectoryContext,
  users: BatchMember[],
  rules: { groupIds: string[]; cases: string[]; params: unknown[] },
): Statement[] {
  const text = statement(rules.cases);
  return [
    {
      name: statementName(text),
      text,
      values: [
        ctx.tenantId,
        users.map((u) => u.id),
        ctx.actor.type,
        ctx.actor.id,
        users[0]?.audit.type,
        ctx.requestId,
        rules.groupIds,
        JSON.stringify(users.map((u) => u.audit.before)),
        JSON.stringify(users.map((u) => u.audit.after)),
        users.map((u) => u.leaving === true),
        users.map((u) => u.requestId ?? null),
        ...rules.params,
      ],
    },
    SEQSCAN_DEFAULT,
  ];
}

/** The batch's users are found by id (the primary key), in the tenant (inTenant). */
const IN_TENANT = inTenant('u', '$1');

function statement(cases: string[]): string {
  const hit =
    cases.length === 0
      ? 'select null::uuid as user_id, unnest($7::uuid[]) as group_id where false'
      : `select u.id as user_id, r.group_id
         from users u
         cross join lateral unnest(array_remove(array[${cases.join(', ')}], null)) as h(n)
         join unnest($7::uuid[]) with ordinality as r(group_id, n) on r.n = h.n
         where u.id = any($2::uuid[]) and ${IN_TENANT} and u.status = 'active'`;
  const listed = (
    cte: string,
  ) => `coalesce((select jsonb_build_object('${cte === 'ins' ? 'membershipsAdded' : 'membershipsRemoved'}',
            jsonb_agg(jsonb_build_object('group', m.group_id, 'source', m.source) order by m.group_id, m.source))
          from ${cte} m where m.user_id = s.user_id having count(*) > 0), '{}'::jsonb)`;
  return `
    with subjects as (
      select s.user_id, s.leaving, s.request_id, s.ord
      from unnest($2::uuid[], $10::boolean[], $11::text[]) with ordinality as s(user_id, leaving, request_id, ord)
      where s.user_id in (select u.id from users u where u.id = any($2::uuid[]) and ${IN_TENANT})
    ), hit as (${hit}),
    wanted as (
      select user_id, group_id, 'rule'::text as source from hit
      union all
      select u.id, g.id, 'system'::text from users u
      join groups g on g.tenant_id = $1 and g.kind = 'system'
      where u.id = any($2::uuid[]) and ${IN_TENANT} and u.status = 'active'
    ), ins as (
      insert into group_members (tenant_id, group_id, user_id, source)
      select $1, group_id, user_id, source from wanted
      on conflict do nothing
      returning group_id, user_id, source
    ), del as (
      delete from group_members gm using subjects s
      where gm.user_id = any($2::uuid[]) and gm.user_id = s.user_id and gm.tenant_id = $1
        and (gm.source <> 'manual' or s.leaving)
        and not exists (select 1 from wanted w
                        where w.user_id = gm.user_id and w.group_id = gm.group_id and w.source = gm.source)
      returning gm.group_id, gm.user_id, gm.source
    ), ${groupVersionBumps('select group_id from ins union select group_id from del')}, audit as (
      insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
      select $1, $3, $4, 'user', s.user_id, $5,
        nullif($8::jsonb -> (s.ord::int - 1), 'null'::jsonb),
        ($9::jsonb -> (s.ord::int - 1)) || ${listed('ins')} || ${listed('del')},
        coalesce(s.request_id, $6)
      from subjects s order by s.ord
    )
    select (select count(*) from ins)::int as added, (select count(*) from del)::int as removed`;
}
