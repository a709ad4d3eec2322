import type pg from 'pg';
import type { Queryable } from '../db/sql.ts';
import { DirectoryError } from './directory-error.ts';
import type { GroupGrant } from './group-record.ts';
import { type CompiledRule, type RuleCompiler, shiftParams } from './rule-sql.ts';

/** A user a rule matches, as a preview lists it. */
export interface RuleMatch {
  id: string;
  userName: string;
  displayName: string | null;
}

/** The longest rule accepted: the filter parser's own bound. */
const MAX_RULE_LENGTH = 4096;

/**
 * Group auto-assignment rules: compiling them through the door-given compiler, applying
 * a changed rule to the whole tenant set-based (one insert … select and one delete, never
 * user by user), and previewing who a rule would match.
 */
export class GroupRules {
  constructor(
    private readonly pool: pg.Pool,
    private readonly compiler: RuleCompiler | undefined,
  ) {}

  /** Compiles a rule; refuses an empty or invalid one with invalidFilter. */
  compile(rule: string): CompiledRule {
    if (!this.compiler) throw new Error('no rule compiler was given to the directory');
    if (rule.trim() === '') throw new DirectoryError('invalidFilter', 'a rule cannot be empty');
    if (rule.length > MAX_RULE_LENGTH) {
      throw new DirectoryError('invalidFilter', `a rule is at most ${MAX_RULE_LENGTH} characters`);
    }
    return this.compiler.compile(rule);
  }

  /**
   * Stores the group's rule (null removes it) and brings its rule memberships in line over
   * the whole tenant: active users the rule matches become rule members, rule members it
   * no longer matches stop being ones. Manual and system memberships are never touched,
   * so a user who is both a manual and a rule member stays. The caller holds the tenant's
   * rule lock exclusively and the group row; the tenant's rule generation moves on.
   */
  async apply(
    tx: Queryable,
    tenantId: string,
    groupId: string,
    rule: { text: string; compiled: CompiledRule } | null,
  ): Promise<{ added: number; removed: number }> {
    await tx.query(
      `update groups set rule = $3, rule_sql = $4, rule_params = $5 where tenant_id = $1 and id = $2`,
      [
        tenantId,
        groupId,
        rule?.text ?? null,
        rule?.compiled.sql ?? null,
        rule ? JSON.stringify(rule.compiled.params) : null,
      ],
    );
    await tx.query('update tenants set rule_generation = rule_generation + 1 where id = $1', [
      tenantId,
    ]);
    if (!rule) {
      const { rowCount } = await tx.query(
        `delete from group_members where group_id = $1 and source = 'rule'`,
        [groupId],
      );
      return { added: 0, removed: rowCount ?? 0 };
    }
    const { rows } = await tx.query<{ added: number; removed: number }>(
      `with matched as (
         select u.id from users u
         where u.tenant_id = $1 and u.status = 'active' and coalesce(${shiftParams(rule.compiled.sql, 2)}, false)
       ), ins as (
         insert into group_members (tenant_id, group_id, user_id, source)
         select $1, $2, id, 'rule' from matched
         on conflict do nothing
         returning user_id
       ), del as (
         delete from group_members gm
         where gm.group_id = $2 and gm.source = 'rule' and gm.user_id not in (select id from matched)
         returning user_id
       )
       select (select count(*) from ins)::int as added, (select count(*) from del)::int as removed`,
      [tenantId, groupId, ...rule.compiled.params],
    );
    return rows[0] ?? { added: 0, removed: 0 };
  }

  /**
   * Who a rule would match, a page at a time in id order, without storing anything.
   * @throws DirectoryError invalidFilter for an invalid rule.
   */
  async preview(
    tenantId: string,
    rule: string,
    page: { offset: number; limit: number },
  ): Promise<{ total: number; users: RuleMatch[] }> {
    const compiled = this.compile(rule);
    const where = (offset: number) =>
      `u.tenant_id = $1 and u.status = 'active' and coalesce(${shiftParams(compiled.sql, offset)}, false)`;
    const { rows } = await this.pool.query<{
      id: string;
      user_name: string;
      display_name: string | null;
      total: number;
    }>(
      `select u.id, u.user_name, u.attrs->>'displayName' as display_name,
              count(*) over () as total
       from users u where ${where(3)}
       order by u.id limit $2 offset $3`,
      [tenantId, page.limit, page.offset, ...compiled.params],
    );
    let total = rows[0]?.total;
    if (total === undefined) {
      // An offset past the end still reports how many there are.
      const counted = await this.pool.query<{ total: number }>(
        `select count(*)::int as total from users u where ${where(1)}`,
        [tenantId, ...compiled.params],
      );
      total = counted.rows[0]?.total ?? 0;
    }
    return {
      total: Number(total),
      users: rows.map((r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name })),
    };
  }
}

/** Checks grants a door hands over: known types, non-empty values, sites only on care roles. */
export function checkGrants(grants: GroupGrant[]): GroupGrant[] {
  const seen = new Set<string>();
  const out: GroupGrant[] = [];
  for (const g of grants) {
    if (g.type !== 'scimRole' && g.type !== 'careRole') {
      throw new DirectoryError('invalidValue', `a grant's type is scimRole or careRole`);
    }
    if (typeof g.value !== 'string' || g.value.trim() === '') {
      throw new DirectoryError('invalidValue', 'a grant needs a value (the role it gives)');
    }
    if (g.site !== undefined && g.type !== 'careRole') {
      throw new DirectoryError('invalidValue', 'only a careRole grant names a site');
    }
    if (g.type === 'careRole' && (g.site === undefined || g.site.trim() === '')) {
      throw new DirectoryError('invalidValue', 'a careRole grant names the site of the role');
    }
    const key = `${g.type}\u0000${g.value}\u0000${g.site ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(g.site === undefined ? { type: g.type, value: g.value } : { ...g });
  }
  return out;
}
