import type { Queryable, Statement } from '../db/sql.ts';

/**
 * A rule translated to SQL: a boolean expression over the `users` table under the alias
 * `u`, whose parameters are `$1…$n` = `params`. Built by a door (the SCIM filter
 * translator) and handed to the directory, which stores it beside the rule's text.
 */
export interface CompiledRule {
  sql: string;
  params: unknown[];
}

/**
 * Turns a rule, a SCIM filter over users (RFC 7644 §3.4.2.2), into SQL. The directory
 * knows no SCIM: the composition root gives it one of these.
 * @throws DirectoryError invalidFilter for a rule that is not a valid filter over users.
 */
export interface RuleCompiler {
  compile(rule: string): CompiledRule;
}

/**
 * Renumbers the `$n` parameters of a compiled rule by `offset`, so it can sit inside a
 * statement that has parameters of its own. String literals (quoted schema names) are
 * left alone; user input is never in the SQL text, only in the parameters.
 */
export function shiftParams(sql: string, offset: number): string {
  if (offset === 0) return sql;
  return sql
    .split(/('(?:[^']|'')*')/)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`),
    )
    .join('');
}

export async function lockRules(
  tx: Queryable,
  tenantId: string,
  mode: 'shared' | 'exclusive',
): Promise<void> {
  await tx.query(ruleLock(tenantId, mode));
}

/**
 * Serialises rule changes against user writes of one tenant: a rule change takes the
 * tenant's rule lock exclusively, a user write shares it. Then a rule change's set-based
 * evaluation sees every committed user write, and a user write evaluates the rules every
 * committed rule change left; neither can miss the other. Taken first in a transaction,
 * before any row lock, so no lock cycle can form; as a statement of its own, so the
 * statements after it in a batch take their snapshots once it is held.
 */
export function ruleLock(tenantId: string, mode: 'shared' | 'exclusive'): Statement {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  return {
    name: `rule_lock_${mode}`,
    text: `select ${fn}(hashtextextended('group-rules:' || $1::uuid::text, 0))`,
    values: [tenantId],
  };
}

/**
 * For a delete of something user writes refer to (a staff member, a site): takes the
 * tenant's rule lock exclusively, so every user write in flight commits first and the
 * delete's reference check, in a later statement, sees it; and moves the tenant's rule
 * generation on, so a user write whose references were checked before this delete, but
 * which is sent after it, stores nothing and is prepared again (users.ts retries a write
 * whose rule generation is stale).
 */
export async function fenceUserWrites(tx: Queryable, tenantId: string): Promise<void> {
  await lockRules(tx, tenantId, 'exclusive');
  await tx.query('update tenants set rule_generation = rule_generation + 1 where id = $1', [
    tenantId,
  ]);
}
