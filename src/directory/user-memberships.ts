import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Queryable, Statement } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { type CompiledRule, shiftParams } from './rule-sql.ts';
import { groupsFromColumn } from './user-groups-sql.ts';
import type { UserRow } from './user-record.ts';

/** The compiled rules of one tenant at one rule generation, as the two user write statements. */
export interface RuleSet {
  generation: number;
  groupIds: string[];
  /** The rules the statements were compiled from, for the batch statements. */
  rules: CompiledRule[];
  insert: { name: string; text: string };
  update: { name: string; text: string };
  params: unknown[];
}

/**
 * $1 tenant, $2 user, $3 leaving active, $4 actor type, $5 actor id, $6 audit type,
 * $7 request id, $8 rule group ids, $9 audit before, $10 audit after, $11 the rule
 * generation the statement was compiled for, $12 userName, $13 externalId, $14 status,
 * $15 primary email, $16 attrs, $17 password hash (null keeps it on update), $18 the
 * time of the write, $19 the version an update replaces.
 */
const FIXED = 19;
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

/** The account row one write stores. */
export interface UserRowWrite {
  id: string;
  userName: string;
  externalId: string | null;
  status: string;
  primaryEmail: string | null;
  attrs: Record<string, unknown>;
  passwordHash: string | null;
  at: Date;
  /** For an update, the version it replaces (compare-and-set); absent for an insert. */
  replacesVersion?: number;
}

/** What a user write statement did: the stored row and the user's groups after it. */
export interface UserWriteOutcome {
  row: UserRow;
  added: number;
  removed: number;
  groups: NonNullable<ReturnType<typeof groupsFromColumn>>;
}

/**
 * One statement per user write: it stores the account row with its change event, brings
 * the user's rule and system memberships up to date against the row as written (every
 * rule of the tenant evaluated in SQL; missing memberships inserted, stale ones deleted
 * and, when the user leaves `active`, the manual ones too), gives each group whose
 * membership really changed a new version and a change event, and writes the write's
 * one audit event with what was added and removed (`membershipsAdded`,
 * `membershipsRemoved` beside the account in `after`). Rule and system memberships exist
 * for active users only, so reactivation restores them and never the manual ones.
 *
 * The statement runs after the tenant's rule lock (shared) in the same transaction, so
 * its snapshot sees every committed rule change. It checks that the rule set it was
 * compiled from is still the tenant's and, when a rule changed meanwhile, writes nothing:
 * the caller reloads the set and sends it again.
 */
export class UserMemberships {
  private readonly sets = new Map<string, RuleSet>();

  /** The tenant's compiled rule set; read again when `generation` says it is stale. */
  async ruleSet(db: Queryable, tenantId: string, generation?: number): Promise<RuleSet> {
    const cached = this.sets.get(tenantId);
    if (cached && (generation === undefined || cached.generation === generation)) return cached;
    return this.load(db, tenantId);
  }

  /** Forgets the tenant's set: the next write reads it again. */
  forget(tenantId: string): void {
    this.sets.delete(tenantId);
  }

  /** The statement that stores `row` and its memberships, compiled with `set`. */
  statement(
    set: RuleSet,
    ctx: DirectoryContext,
    row: UserRowWrite,
    opts: { transition: ActiveTransition; audit: UserWriteAudit },
  ): Statement {
    const compiled = row.replacesVersion === undefined ? set.insert : set.update;
    return {
      ...compiled,
      values: [
        ctx.tenantId,
        row.id,
        opts.transition === 'deactivated',
        ctx.actor.type,
        ctx.actor.id,
        opts.audit.type,
        ctx.requestId,
        set.groupIds,
        opts.audit.before === null ? null : JSON.stringify(opts.audit.before),
        JSON.stringify(opts.audit.after),
        set.generation,
        row.userName,
        row.externalId,
        row.status,
        row.primaryEmail,
        row.attrs,
        row.passwordHash,
        row.at,
        row.replacesVersion ?? null,
        ...set.params,
      ],
    };
  }

  /** What the statement did; undefined when it wrote nothing (a stale set, a lost race). */
  static outcome(result: pg.QueryResult): UserWriteOutcome | undefined {
    const r = result.rows[0] as
      | (UserRow & { wrote_id: string | null; added: number; removed: number; groups: unknown })
      | undefined;
    if (!r || r.wrote_id === null) return undefined;
    const { wrote_id: _w, added, removed, groups, ...row } = r;
    return { row: row as UserRow, added, removed, groups: groupsFromColumn(groups) ?? [] };
  }

  /** The tenant's rules, compiled into its two user write statements. */
  private async load(tx: Queryable, tenantId: string): Promise<RuleSet> {
    const { generation, groupIds, rules } = await readTenantRules(tx, tenantId);
    const { cases, params } = ruleCases(rules, FIXED);
    const named = (text: string) => ({
      name: `uw_${createHash('sha1').update(text).digest('hex')}`,
      text,
    });
    const set: RuleSet = {
      generation,
      groupIds,
      rules,
      insert: named(userWriteStatement(INSERT_ROW, 'created', cases)),
      update: named(userWriteStatement(UPDATE_ROW, 'updated', cases)),
      params,
    };
    if (this.sets.size >= MAX_CACHED) this.sets.delete(this.sets.keys().next().value as string);
    this.sets.delete(tenantId);
    this.sets.set(tenantId, set);
    return set;
  }
}

// The row CTE `u` of a user write; it writes only when the rule set is current (`fresh`).
const INSERT_ROW = `
  insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs,
                     password_hash, version, created_at, updated_at)
  select $2::uuid, $1::uuid, $12::text, $13::text, $14::text, $15::text, $16::jsonb,
         $17::text, 1, $18::timestamptz, $18::timestamptz
  -- $19, the replaced version, is null: both statements take the same parameters.
  where exists (select 1 from fresh) and $19::int is null
  returning *`;

// Compare-and-set on `version`: a concurrent writer makes this match no row.
const UPDATE_ROW = `
  update users set user_name = $12::text, external_id = $13::text, status = $14::text,
                   primary_email = $15::text, attrs = $16::jsonb,
                   password_hash = coalesce($17::text, password_hash),
                   version = version + 1, updated_at = $18::timestamptz
  where tenant_id = $1 and id = $2 and version = $19::int and status <> 'deleted'
    and exists (select 1 from fresh)
  returning *`;

/**
 * The tenant's rules with its rule generation, read in one snapshot, each compiled to
 * `CASE WHEN <rule> THEN i END` (i counting from 1 in `groupIds` order) with its
 * parameters numbered after a statement's `fixed` own ones.
 */
export async function tenantRuleCases(
  db: Queryable,
  tenantId: string,
  fixed: number,
): Promise<{ generation: number; groupIds: string[]; cases: string[]; params: unknown[] }> {
  const { generation, groupIds, rules } = await readTenantRules(db, tenantId);
  return { generation, groupIds, ...ruleCases(rules, fixed) };
}

/** A tenant's rules (each group's compiled rule, in `groupIds` order) at one rule generation. */
interface TenantRules {
  generation: number;
  groupIds: string[];
  rules: CompiledRule[];
}

/** The tenant's rules with its rule generation, read in one snapshot. */
async function readTenantRules(db: Queryable, tenantId: string): Promise<TenantRules> {
  const { rows: all } = await db.query<{
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
  const rules = all.filter((r) => r.id !== null) as {
    id: string;
    rule_sql: string;
    rule_params: unknown[];
  }[];
  return {
    generation: Number(all[0]?.generation ?? 0),
    groupIds: rules.map((r) => r.id),
    rules: rules.map((r) => ({ sql: r.rule_sql, params: r.rule_params })),
  };
}

/** Each rule as `CASE WHEN <rule> THEN i END`, its parameters numbered after `fixed`. */
export function ruleCases(
  rules: CompiledRule[],
  fixed: number,
): { cases: string[]; params: unknown[] } {
  const params: unknown[] = [];
  const cases = rules.map((r, i) => {
    const sql = shiftParams(r.sql, fixed + params.length);
    params.push(...r.params);
    return `CASE WHEN coalesce(${sql}, false) THEN ${i + 1} END`;
  });
  return { cases, params };
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

function userWriteStatement(
  rowWrite: string,
  operation: 'created' | 'updated',
  cases: string[],
): string {
  // The i-th rule that holds yields i; joined back to the i-th group id ($8).
  const hit =
    cases.length === 0
      ? 'select unnest($8::uuid[]) as group_id where false'
      : `select r.group_id
         from u
         cross join lateral unnest(array_remove(array[${cases.join(', ')}], null)) as h(n)
         join unnest($8::uuid[]) with ordinality as r(group_id, n) on r.n = h.n
         where u.status = 'active'`;
  return `
    with fresh as (
      -- The rule set this statement was compiled from is still the tenant's.
      select 1 from tenants where id = $1 and rule_generation = $11::bigint
    ), u as (${rowWrite}
    ), c as (
      insert into change_events (tenant_id, resource_type, resource_id, operation, version)
      select tenant_id, 'User', id, '${operation}', version from u
    ), hit as (${hit}),
    wanted as (
      select group_id, 'rule'::text as source from hit
      union all
      select g.id, 'system'::text from groups g
      where g.tenant_id = $1 and g.kind = 'system'
        and exists (select 1 from u where u.status = 'active')
    ), ins as (
      insert into group_members (tenant_id, group_id, user_id, source)
      select $1, group_id, $2, source from wanted
      on conflict do nothing
      returning group_id, source
    ), del as (
      delete from group_members gm
      where gm.user_id = $2 and gm.tenant_id = $1 and (gm.source <> 'manual' or $3::boolean)
        and not exists (select 1 from wanted w where w.group_id = gm.group_id and w.source = gm.source)
        and exists (select 1 from u)
      returning gm.group_id, gm.source
    ), ${groupVersionBumps('select group_id from ins union select group_id from del')}, audit as (
      insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
      select $1, $4, $5, 'user', $2, $6, $9::jsonb,
        $10::jsonb
          || coalesce((select jsonb_build_object('membershipsAdded', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from ins having count(*) > 0), '{}'::jsonb)
          || coalesce((select jsonb_build_object('membershipsRemoved', jsonb_agg(jsonb_build_object('group', group_id, 'source', source) order by group_id, source)) from del having count(*) > 0), '{}'::jsonb),
        $7
      where exists (select 1 from u)
    )
    select u.*, u.id as wrote_id,
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
              union select group_id from ins)) as groups
    from (select 1) as one left join u on true`;
}
