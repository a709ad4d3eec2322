import type pg from 'pg';
import { type Queryable, uniqueViolation, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import type { UserRecord, UserStatus } from '../directory/user-record.ts';
import type { UserDirectory } from '../directory/users.ts';
import { UUID } from '../directory/uuid.ts';
import { CARE_USER_SCHEMA, careOf, flag } from './care-extension.ts';
import { recordCareChange } from './care-record.ts';
import { accessActor } from './user-care.ts';

/** What every personal field of an erased account reads. */
export const ERASED = '*****';

const forbidden = (rule: string) => new DirectoryError('forbidden', rule);
const notFound = (id: string) => new DirectoryError('notFound', `user ${id} not found`);

/**
 * The account lifecycle beyond SCIM's `active`: pending → active ⇄ inactive, locked,
 * deleted (the user bank, restorable by an admin), and erased (GDPR, irreversible).
 * Status changes go through the user directory, so the care rules and token follow-ups
 * of src/care/user-care.ts apply; restore and erase are written here, in one transaction.
 */
export class Lifecycle {
  constructor(
    private readonly pool: pg.Pool,
    private readonly users: UserDirectory,
  ) {}

  /** Moves an account to `status`, with an audit event named after the step. */
  async setStatus(
    ctx: DirectoryContext,
    id: string,
    status: Exclude<UserStatus, 'deleted'>,
  ): Promise<UserRecord> {
    const current = await this.users.get(ctx.tenantId, id);
    const type =
      status === 'inactive'
        ? 'user.deactivated'
        : status === 'locked'
          ? 'user.locked'
          : status === 'active' && current.status === 'inactive'
            ? 'user.reactivated'
            : status === 'active' && current.status === 'locked'
              ? 'user.unlocked'
              : `user.${status}`;
    const { user } = await this.users.update(ctx, id, (u) => ({ ...u, status }), {
      auditType: type,
    });
    return user;
  }

  /** Brings an account back from the user bank, inactive; only an admin may. */
  async restore(ctx: DirectoryContext, id: string): Promise<void> {
    await withTransaction(this.pool, async (db) => {
      const actor = await accessActor(db, ctx);
      if (actor.kind === 'user' && !flag(actor.ext, 'adminAccess')) {
        throw forbidden('only a user with admin access may restore an account from the user bank');
      }
      let rows: { version: number }[];
      try {
        ({ rows } = await db.query<{ version: number }>(
          `update users set status = 'inactive', deleted_at = null, version = version + 1, updated_at = now(),
                  attrs = case when attrs ? $3 then jsonb_set(attrs, array[$3, 'status'], '"inactive"') else attrs end
           where tenant_id = $1 and id = $2 and status = 'deleted' and erased_at is null
           returning version`,
          [ctx.tenantId, UUID.test(id) ? id : null, CARE_USER_SCHEMA],
        ));
      } catch (err) {
        if (uniqueViolation(err)) {
          throw new DirectoryError(
            'uniqueness',
            'its userName or email is in use by another account now',
          );
        }
        throw err;
      }
      if (!rows[0]) throw notFound(id);
      await recordCareChange(db, ctx, {
        subjectType: 'user',
        subjectId: id,
        type: 'user.restored',
        before: { status: 'deleted' },
        after: { status: 'inactive' },
        resourceType: 'User',
        operation: 'updated',
        version: rows[0].version,
      });
    });
  }

  /**
   * Erases an account under the GDPR right to be forgotten: irreversible, main
   * administrators only, never oneself or the reserved system administrator. Every
   * personal value becomes stars wherever it is stored (the account, audit events, other
   * accounts' references, tokens' names); the id stays as the pseudonymous reference the
   * audit trail keeps counting.
   */
  async erase(ctx: DirectoryContext, id: string): Promise<void> {
    await withTransaction(this.pool, async (db) => {
      const actor = await accessActor(db, ctx);
      if (
        actor.kind !== 'system' &&
        !(actor.kind === 'user' && flag(actor.ext, 'mainAdministrator'))
      ) {
        throw forbidden('only a main administrator may erase an account');
      }
      if (actor.kind === 'user' && actor.id === id)
        throw forbidden('nobody can erase their own account');
      const { rows } = await db.query<{
        user_name: string;
        external_id: string | null;
        primary_email: string | null;
        attrs: Record<string, unknown>;
      }>(
        `select user_name, external_id, primary_email, attrs from users
         where tenant_id = $1 and id = $2 and erased_at is null for update`,
        [ctx.tenantId, UUID.test(id) ? id : null],
      );
      const row = rows[0];
      if (!row) throw notFound(id);
      if (flag(careOf(row.attrs), 'systemAdministrator')) {
        throw forbidden('the reserved system administrator cannot be erased');
      }
      const personal = new Set<string>();
      for (const v of [
        row.user_name,
        row.external_id,
        row.primary_email,
        ...stringsOf(row.attrs),
      ]) {
        if (v && v !== ERASED && !UUID.test(v)) personal.add(v);
      }
      const version = await eraseAccount(db, ctx, id, row.attrs);
      await wipeEverywhere(db, ctx, id, [...personal]);
      await recordCareChange(db, ctx, {
        subjectType: 'user',
        subjectId: id,
        type: 'user.erased',
        resourceType: 'User',
        operation: 'deleted',
        version,
      });
    });
  }
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

/** Every string leaf becomes stars; the shape (and non-personal booleans) stays. */
function starred(value: unknown): unknown {
  if (typeof value === 'string') return ERASED;
  if (Array.isArray(value)) return value.map(starred);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, starred(v)]));
  }
  return value;
}

async function eraseAccount(
  db: Queryable,
  ctx: DirectoryContext,
  id: string,
  attrs: Record<string, unknown>,
): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    `update users set user_name = $3, external_id = null, primary_email = null, password_hash = null,
            attrs = $4, status = 'deleted', deleted_at = coalesce(deleted_at, now()), erased_at = now(),
            version = version + 1, updated_at = now()
     where tenant_id = $1 and id = $2 returning version`,
    [ctx.tenantId, id, ERASED, starred(attrs)],
  );
  await db.query(
    `with m as (delete from group_members where tenant_id = $1 and user_id = $2 returning group_id)
     update groups set version = version + 1, updated_at = now() where id in (select group_id from m)`,
    [ctx.tenantId, id],
  );
  await db.query(
    `update api_tokens set name = $3, revoked_at = coalesce(revoked_at, now())
     where tenant_id = $1 and (created_by = $2 or subject_user_id = $2)`,
    [ctx.tenantId, id, ERASED],
  );
  // The identities linked at the IdP name the person (subject, often an email).
  await db.query('delete from sso_identities where tenant_id = $1 and user_id = $2', [
    ctx.tenantId,
    id,
  ]);
  return rows[0]?.version ?? 0;
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces each personal value, as a whole JSON string, wherever the tenant's JSON keeps
 * it: audit events (before/after), other accounts' attributes (a manager's or
 * supervisor's display), staff members, sign-in state in flight. One regular expression,
 * passed as a parameter; the scan of the tenant's audit trail is what erasure costs.
 */
async function wipeEverywhere(
  db: Queryable,
  ctx: DirectoryContext,
  id: string,
  values: string[],
): Promise<void> {
  if (values.length === 0) return;
  const pattern = `"(${values.map((v) => regexEscape(JSON.stringify(v).slice(1, -1))).join('|')})"`;
  const star = `"${ERASED}"`;
  await db.query(
    `update audit_events set
       before = case when before::text ~* $2 then regexp_replace(before::text, $2, $3, 'gi')::jsonb else before end,
       after = case when after::text ~* $2 then regexp_replace(after::text, $2, $3, 'gi')::jsonb else after end
     where tenant_id = $1 and (before::text ~* $2 or after::text ~* $2)`,
    [ctx.tenantId, pattern, star],
  );
  const { rows } = await db.query<{ id: string; version: number }>(
    `update users set attrs = regexp_replace(attrs::text, $3, $4, 'gi')::jsonb, version = version + 1, updated_at = now()
     where tenant_id = $1 and id <> $2 and attrs::text ~* $3 returning id, version`,
    [ctx.tenantId, id, pattern, star],
  );
  if (rows.length > 0) {
    await db.query(
      `insert into change_events (tenant_id, resource_type, resource_id, operation, version)
       select $1, 'User', r.id, 'updated', r.version from unnest($2::uuid[], $3::int[]) r(id, version)`,
      [ctx.tenantId, rows.map((r) => r.id), rows.map((r) => r.version)],
    );
  }
  await db.query(
    `update staff_members set attrs = regexp_replace(attrs::text, $2, $3, 'gi')::jsonb, version = version + 1
     where tenant_id = $1 and attrs::text ~* $2`,
    [ctx.tenantId, pattern, star],
  );
  await db.query(`delete from sso_signin_states where tenant_id = $1 and payload::text ~* $2`, [
    ctx.tenantId,
    pattern,
  ]);
  await wipeImportFailures(db, ctx, values);
}

/**
 * A failed import row's reason is a sentence that may quote a personal value ("userName
 * anna already exists"): the value is starred inside the reason, in the runs and in the
 * import audit events, which keep the line and the rest of the sentence.
 */
async function wipeImportFailures(
  db: Queryable,
  ctx: DirectoryContext,
  values: string[],
): Promise<void> {
  const within = `(${values.map(regexEscape).join('|')})`;
  const starredReasons = (column: string) => `(
    select coalesce(jsonb_agg(case when f->>'reason' ~* $2
      then jsonb_set(f, '{reason}', to_jsonb(regexp_replace(f->>'reason', $2, $3, 'gi'))) else f end
      order by n), '[]'::jsonb)
    from jsonb_array_elements(${column}) with ordinality as e(f, n))`;
  await db.query(
    `update import_runs set failures = ${starredReasons('failures')}
     where tenant_id = $1 and failures::text ~* $2`,
    [ctx.tenantId, within, ERASED],
  );
  await db.query(
    `update audit_events set after = jsonb_set(after, '{failures}', ${starredReasons(`after->'failures'`)})
     where tenant_id = $1 and type like 'import.%' and jsonb_typeof(after->'failures') = 'array'
       and (after->'failures')::text ~* $2`,
    [ctx.tenantId, within, ERASED],
  );
}
