import { createHash } from 'node:crypto';
import type { Queryable } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { shiftParams } from './rule-sql.ts';
import { groupsFromColumn } from './user-groups-sql.ts';

/** The compiled rules of one tenant at one rule generation, as one statement. */
interface RuleSet {
  generation: number;
  groupIds: string[];
  /** The whole membership statement; its fixed parameters come first (see FIXED). */
  sql: string;
  /** A name for the prepared statement: its text's hash, so one name is one text. */
  name: string;
  params: unknown[];
}

/**
 * $1 tenant, $2 user, $3 leaving active, $4 actor type, $5 actor id, $6 audit type,
 * $7 request id, $8 rule group ids, $9 audit before, $10 audit after, $11 the rule
 * generation the statement was compiled for.
 */
const FIXED = 11;
/** Tenants whose rule set one process keeps compiled. */
const MAX_CACHED = 1_000;

/** The audit event of the user write the memberships follow. */
export interface UserWriteAudit {
  type: string;
  before: unknown;
  after: unknown;
}

/** What a membership sync did, and the user's groups after it (as SCIM `groups` shows them). */
export interface MembershipSync {
  added: number;
  removed: number;
  groups: NonNullable<ReturnType<typeof groupsFromColumn>>;
}

/** How a write moved the account in or out of `active`; undefined when it did not. */
export type ActiveTransition = 'deactivated' | 'reactivated' | undefined;

/**
 * Brings one user's rule and system memberships up to date inside the caller's
 * transaction, in one statement: every rule of the tenant is evaluated against the user
 * row as it now is, the missing memberships are inserted, the stale ones deleted (and,
 * when the user leaves `active`, the manual ones too), each group whose membership really
 * changed gets a new version and a change event, and the write's one audit event is
 * written with what was added and removed, with sources (`membershipsAdded`,
 * `membershipsRemoved` beside the account in `after`). Rule and system memberships exist
 * for active users only, so reactivation restores them and never the manual ones.
 */
export class UserMemberships {
  private readonly sets = new Map<string, RuleSet>();

  /**
   * Runs in the caller's transaction, which holds the tenant's rule lock (shared). The
   * compiled rule set this process holds is used as it is; the statement checks it is
   * still the tenant's current generation and, when a rule changed meanwhile, does
   * nothing, so the set is reloaded and the statement run again.
   */
  async sync(
    tx: Queryable,
    ctx: DirectoryContext,
    userId: string,
    opts: { transition: ActiveTransition; audit: UserWriteAudit },
  ): Promise<MembershipSync> {
    let set = this.sets.get(ctx.tenantId) ?? (await this.load(tx, ctx.tenantId));
    for (;;) {
      const result = await this.run(tx, ctx, userId, opts, set);
      if (result) return result;
      set = await this.load(tx, ctx.tenantId);
    }
  }

  private async run(
    tx: Queryable,
    ctx: DirectoryContext,
    userId: string,
    opts: { transition: ActiveTransition; audit: UserWriteAudit },
    set: RuleSet,
  ): Promise<MembershipSync | undefined> {
    const { rows } = await tx.query<{
      fresh: boolean;
      added: number;
      removed: number;
      groups: unknown;
    }>({
      name: set.name,
      text: set.sql,
      values: [
        ctx.tenantId,
        userId,
        opts.transition === 'deactivated',
        ctx.actor.type,
        ctx.actor.id,
        opts.audit.type,
        ctx.requestId,
        set.groupIds,
        opts.audit.before === null ? null : JSON.stringify(opts.audit.before),
        JSON.stringify(opts.audit.after),
        set.generation,
        ...set.params,
      ],
    });
    const row = rows[0];
    if (!row?.fresh) return undefined;
    return { added: row.added, removed: row.removed, groups: groupsFromColumn(row.groups) ?? [] };
  }

  /** The tenant's rules, read with their generation in one snapshot, as one statement. */
  private async load(tx: Queryable, tenantId: string): Promise<RuleSet> {
    const { rows: all } = await tx.query<{
      generation: number;
      id: string | null;
      rule_sql: string | null;
      rule_params: unknown[] | null;
    }>(
      `select t.rule_generation as generation, g.id, g.rule_sql, g.rule_params
       from tenants t left join groups g on g.tenant_id = t.id and g.rule is not null
       where t.id = $1 order by g.id`,
      [tenantId],
    );
    const generation = Number(all[0]?.generation ?? 0);
    const rows = all.filter((r) => r.id !== null) as {
      id: string;
      rule_sql: string;
      rule_params: unknown[];
    }[];
    const params: unknown[] = [];
    const cases = rows.map((r, i) => {
      const sql = shiftParams(r.rule_sql, FIXED + params.length);
      params.push(...r.rule_params);
      return `CASE WHEN coalesce(${sql}, false) THEN ${i + 1} END`;
    });
    const sql = membershipStatement(cases);
    const set: RuleSet = {
      generation,
      groupIds: rows.map((r) => r.id),
      sql,
      name: `rules_${createHash('sha1').update(sql).digest('hex')}`,
      params,
    };
    if (this.sets.size >= MAX_CACHED) this.sets.delete(this.sets.keys().next().value as string);
    this.sets.delete(tenantId);
    this.sets.set(tenantId, set);
    return set;
  }
}

/**
 * The CTEs (`touched`, `bumped`, `changes`) that give each group whose memberships a
 * statement changed (`changedGroupIds`, a subquery over its own CTEs; tenant in $1) a new
 * version and a change event. Rows are locked in id order, so two writers touching the
 * same groups cannot deadlock. All Users keeps its version: every account write of the
 * tenant would otherwise queue on its row.
 */
export function groupVersionBumps(changedGroupIds: string): string {
  return `touched as (
      select g.id from groups g
      where g.id in (${changedGroupIds}) and g.kind <> 'system'
      order by g.id
      for no key update
    ), bumped as (
      update groups g set version = g.version + 1, updated_at = now()
      from touched t where g.id = t.id
      returning g.id, g.version
    ), changes as (
      insert into change_events (tenant_id, resource_type, resource_id, operation, version)
      select $1, 'Group', id, 'updated', version from bumped
    )`;
}

function membershipStatement(cases: string[]): string {
  // The i-th rule that holds yields i; joined back to the i-th group id ($8).
  const hit =
    cases.length === 0
      ? 'select unnest($8::uuid[]) as group_id where false'
      : `select r.group_id
         from users u
         cross join lateral unnest(array_remove(array[${cases.join(', ')}], null)) as h(n)
         join unnest($8::uuid[]) with ordinality as r(group_id, n) on r.n = h.n
         where u.tenant_id = $1 and u.id = $2 and u.status = 'active' and exists (select 1 from fresh)`;
  return `
    with fresh as (
      -- The rule set this statement was compiled from is still the tenant's.
      select 1 from tenants where id = $1 and rule_generation = $11::bigint
    ), hit as (${hit}),
    wanted as (
      select group_id, 'rule'::text as source from hit
      union all
      select g.id, 'system'::text from groups g
      where g.tenant_id = $1 and g.kind = 'system'
        and exists (select 1 from users u where u.tenant_id = $1 and u.id = $2 and u.status = 'active')
        and exists (select 1 from fresh)
    ), ins as (
      insert into group_members (tenant_id, group_id, user_id, source)
      select $1, group_id, $2, source from wanted
      on conflict do nothing
      returning group_id, source
    ), del as (
      delete from group_members gm
      where gm.user_id = $2 and gm.tenant_id = $1 and (gm.source <> 'manual' or $3::boolean)
        and not exists (select 1 from wanted w where w.group_id = gm.group_id and w.source = gm.source)
        and exists (select 1 from fresh)
      returning gm.group_id, gm.source
    ), ${groupVersionBumps('select group_id from ins union select group_id from del')}, audit as (
      insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
      select $1, $4, $5, 'user', $2, $6, $9::jsonb,
        $10::jsonb
          || coalesce((select jsonb_build_object('membershipsAdded', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from ins having count(*) > 0), '{}'::jsonb)
          || coalesce((select jsonb_build_object('membershipsRemoved', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from del having count(*) > 0), '{}'::jsonb),
        $7
      where exists (select 1 from fresh)
    )
    select exists (select 1 from fresh) as fresh,
           (select count(*) from ins)::int as added, (select count(*) from del)::int as removed,
           -- The user's groups after this statement (its own writes are not visible to it:
           -- the rows before, less those it deleted, plus those it inserted), so the write's
           -- answer needs no further read.
           (select coalesce(jsonb_agg(jsonb_build_object('value', ug.id, 'display', ug.display_name, 'grants', ug.grants)
                                      order by ug.display_name, ug.id), '[]'::jsonb)
            from groups ug
            where ug.id in (
              select gm.group_id from group_members gm
              where gm.user_id = $2
                and not exists (select 1 from del d where d.group_id = gm.group_id and d.source = gm.source)
              union select group_id from ins)) as groups`;
}
