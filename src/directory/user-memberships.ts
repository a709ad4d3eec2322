import { createHash } from 'node:crypto';
import type { Queryable } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { shiftParams } from './rule-sql.ts';

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
 * $7 request id, $8 rule group ids, $9 audit before, $10 audit after.
 */
const FIXED = 10;
/** Tenants whose rule set one process keeps compiled. */
const MAX_CACHED = 1_000;

/** The audit event of the user write the memberships follow. */
export interface UserWriteAudit {
  type: string;
  before: unknown;
  after: unknown;
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
   * @param generation the tenant's `rule_generation`, read after the rule lock was taken
   *   (it says whether the compiled rule set this process holds is current).
   */
  async sync(
    tx: Queryable,
    ctx: DirectoryContext,
    userId: string,
    opts: { generation: number; transition: ActiveTransition; audit: UserWriteAudit },
  ): Promise<{ added: number; removed: number }> {
    const set = await this.ruleSet(tx, ctx.tenantId, opts.generation);
    const { rows } = await tx.query<{ added: number; removed: number }>({
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
        ...set.params,
      ],
    });
    return rows[0] ?? { added: 0, removed: 0 };
  }

  /** The tenant's rules compiled into one statement, rebuilt when the generation moved. */
  private async ruleSet(tx: Queryable, tenantId: string, generation: number): Promise<RuleSet> {
    const cached = this.sets.get(tenantId);
    if (cached && cached.generation === generation) return cached;
    const { rows } = await tx.query<{ id: string; rule_sql: string; rule_params: unknown[] }>(
      `select id, rule_sql, rule_params from groups
       where tenant_id = $1 and rule is not null order by id`,
      [tenantId],
    );
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

function membershipStatement(cases: string[]): string {
  // The i-th rule that holds yields i; joined back to the i-th group id ($8).
  const hit =
    cases.length === 0
      ? 'select unnest($8::uuid[]) as group_id where false'
      : `select r.group_id
         from users u
         cross join lateral unnest(array_remove(array[${cases.join(', ')}], null)) as h(n)
         join unnest($8::uuid[]) with ordinality as r(group_id, n) on r.n = h.n
         where u.tenant_id = $1 and u.id = $2 and u.status = 'active'`;
  return `
    with hit as (${hit}),
    wanted as (
      select group_id, 'rule'::text as source from hit
      union all
      select g.id, 'system'::text from groups g
      where g.tenant_id = $1 and g.kind = 'system'
        and exists (select 1 from users u where u.tenant_id = $1 and u.id = $2 and u.status = 'active')
    ), ins as (
      insert into group_members (tenant_id, group_id, user_id, source)
      select $1, group_id, $2, source from wanted
      on conflict do nothing
      returning group_id, source
    ), del as (
      delete from group_members gm
      where gm.user_id = $2 and gm.tenant_id = $1 and (gm.source <> 'manual' or $3::boolean)
        and not exists (select 1 from wanted w where w.group_id = gm.group_id and w.source = gm.source)
      returning gm.group_id, gm.source
    ), touched as (
      -- Locked in id order, so two writers touching the same groups cannot deadlock.
      select g.id from groups g
      where g.id in (select group_id from ins union select group_id from del)
      order by g.id
      for no key update
    ), bumped as (
      update groups g set version = g.version + 1, updated_at = now()
      from touched t where g.id = t.id
      returning g.id, g.version
    ), changes as (
      insert into change_events (tenant_id, resource_type, resource_id, operation, version)
      select $1, 'Group', id, 'updated', version from bumped
    ), audit as (
      insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
      select $1, $4, $5, 'user', $2, $6, $9::jsonb,
        $10::jsonb
          || coalesce((select jsonb_build_object('membershipsAdded', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from ins having count(*) > 0), '{}'::jsonb)
          || coalesce((select jsonb_build_object('membershipsRemoved', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from del having count(*) > 0), '{}'::jsonb),
        $7
    )
    select (select count(*) from ins)::int as added, (select count(*) from del)::int as removed`;
}
