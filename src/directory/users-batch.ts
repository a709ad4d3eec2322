import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { prepareUserWrite } from '../care/user-care.ts';
import { withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import { hashPassword } from './passwords.ts';
import { RULE_LOCK_SHARED } from './rule-sql.ts';
import { syncMemberships } from './user-memberships-batch.ts';
import { auditSnapshot, primaryEmail, type UserInput } from './user-record.ts';

/** The outcome of one input of a batch, in the order given. */
export type BatchCreateOutcome =
  | { ok: true; id: string; userName: string }
  | { ok: false; error: DirectoryError };

// One statement inserts the batch's rows (a row whose userName or primary email is taken,
// by another account or by an earlier row of the batch, is skipped) with a change event
// each, after taking the tenant's rule lock (shared), as a single user write does.
const INSERT_MANY = `
  with l as (${RULE_LOCK_SHARED('$1')}), x as (
    select * from jsonb_to_recordset($2::jsonb) as x(id uuid, user_name text, external_id text,
      status text, primary_email text, attrs jsonb, password_hash text, ord int)
    where exists (select 1 from l)
  ), u as (
    insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs,
                       password_hash, version, created_at, updated_at)
    select id, $1, user_name, external_id, status, primary_email, attrs, password_hash, 1, $3, $3
    from x order by ord
    on conflict do nothing
    returning id
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select $1, 'User', id, 'created', 1 from u
  )
  select id from u`;

/**
 * Creates many accounts in one transaction, as `users.create` creates one: the care
 * directory prepares each input (src/care/user-care.ts, the access rules included), the
 * rows and their change events are written in one statement, and the group-rule and
 * system memberships with each user's `user.created` audit event in another
 * (user-memberships-batch.ts). An input that is refused, or whose userName or primary
 * email is in use, fails alone; the others are created. For bulk imports, where one
 * transaction per account would queue every write on the rule groups' rows.
 */
export async function createUsers(
  pool: pg.Pool,
  ctx: DirectoryContext,
  requested: UserInput[],
): Promise<BatchCreateOutcome[]> {
  const outcomes: (BatchCreateOutcome | undefined)[] = new Array(requested.length);
  const prepared: { ord: number; input: UserInput; id: string; passwordHash: string | null }[] = [];
  for (const [ord, input] of requested.entries()) {
    try {
      const { input: ready } = await prepareUserWrite(pool, ctx, undefined, input);
      const passwordHash = ready.password === undefined ? null : await hashPassword(ready.password);
      prepared.push({ ord, input: ready, id: uuidv7(), passwordHash });
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      outcomes[ord] = { ok: false, error: err };
    }
  }
  const created = await withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ id: string }>(INSERT_MANY, [
      ctx.tenantId,
      JSON.stringify(
        prepared.map((p) => ({
          id: p.id,
          user_name: p.input.userName,
          external_id: p.input.externalId,
          status: p.input.status,
          primary_email: primaryEmail(p.input.attrs),
          attrs: p.input.attrs,
          password_hash: p.passwordHash,
          ord: p.ord,
        })),
      ),
      new Date(),
    ]);
    const ids = new Set(rows.map((r) => r.id));
    const done = prepared.filter((p) => ids.has(p.id));
    await syncMemberships(
      tx,
      ctx,
      done.map((p) => ({
        id: p.id,
        audit: { type: 'user.created', before: null, after: auditSnapshot(p.input) },
      })),
    );
    return ids;
  });
  const skipped = prepared.filter((p) => !created.has(p.id));
  const taken = await takenNames(
    pool,
    ctx.tenantId,
    skipped.map((p) => p.input.userName),
  );
  for (const p of prepared) {
    if (created.has(p.id)) {
      outcomes[p.ord] = { ok: true, id: p.id, userName: p.input.userName };
    } else {
      const message = taken.has(p.input.userName.toLowerCase())
        ? `userName ${p.input.userName} is already in use`
        : `the primary email ${primaryEmail(p.input.attrs)} is already in use`;
      outcomes[p.ord] = { ok: false, error: new DirectoryError('uniqueness', message) };
    }
  }
  return outcomes as BatchCreateOutcome[];
}

/** Which of `names` are taken in the tenant (lower-cased), in one query. */
async function takenNames(pool: pg.Pool, tenantId: string, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const { rows } = await pool.query<{ name: string }>(
    `select lower(user_name) as name from users
     where tenant_id = $1 and lower(user_name) = any($2::text[]) and status <> 'deleted'`,
    [tenantId, names.map((n) => n.toLowerCase())],
  );
  return new Set(rows.map((r) => r.name));
}
