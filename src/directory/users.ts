import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { checkUserDelete, prepareUserWrite } from '../care/user-care.ts';
import { type Queryable, uniqueViolation, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import { hashPassword } from './passwords.ts';
import { RULE_LOCK_SHARED } from './rule-sql.ts';
import { type ActiveTransition, UserMemberships } from './user-memberships.ts';
import {
  auditSnapshot,
  primaryEmail,
  type UserInput,
  type UserRecord,
  type UserRow,
  userFromRow,
} from './user-record.ts';
import { type BatchCreateOutcome, createUsers } from './users-batch.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a user or group id; anything else cannot exist (404, never 500). */
export function isResourceId(id: string): boolean {
  return UUID.test(id);
}

// One statement writes the row and its change event and takes the tenant's rule lock
// (shared); the next, in the same transaction, brings the user's group memberships up to
// date and writes the audit event of both (user-memberships.ts).
const INSERT_USER = `
  with u as (
    insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs,
                       password_hash, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)
    returning *
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select tenant_id, 'User', id, 'created', version from u
  ), l as (${RULE_LOCK_SHARED('$2')})
  select u.* from u cross join l`;

// Compare-and-set on `version`: a concurrent writer makes this match no row, and the
// caller re-reads and re-applies its change instead of overwriting the other one.
const UPDATE_USER = `
  with u as (
    update users set user_name = $3, external_id = $4, status = $5, primary_email = $6,
                     attrs = $7, password_hash = coalesce($8, password_hash),
                     version = version + 1, updated_at = $9
    where tenant_id = $1 and id = $2 and version = $10 and status <> 'deleted'
    returning *
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select tenant_id, 'User', id, 'updated', version from u
  ), l as (${RULE_LOCK_SHARED('$1')})
  select u.* from u cross join l`;

/** Whether a write moves the account in or out of `active` (what memberships follow). */
function transitionOf(before: UserRecord['status'], after: UserRecord['status']): ActiveTransition {
  if (before === 'active' && after !== 'active') return 'deactivated';
  if (before !== 'active' && after === 'active') return 'reactivated';
  return undefined;
}

const SELECT_USER = `select * from users where tenant_id = $1 and id = $2 and status <> 'deleted'`;

function uniquenessError(constraint: string, input: UserInput): DirectoryError {
  if (constraint === 'users_primary_email_uq') {
    return new DirectoryError(
      'uniqueness',
      `the primary email ${primaryEmail(input.attrs)} is already in use`,
    );
  }
  return new DirectoryError('uniqueness', `userName ${input.userName} is already in use`);
}

/** The identity an account created at its first SSO sign-in is known by at its IdP. */
export interface LinkedIdentity {
  connectionId: string;
  issuer: string;
  subject: string;
}

/**
 * Remembers that an IdP identity is this account (idempotent). Written in the transaction
 * that creates the account, so no account born of a sign-in is ever left without it.
 */
export async function linkIdentity(
  db: Queryable,
  tenantId: string,
  userId: string,
  identity: LinkedIdentity,
): Promise<void> {
  await db.query(
    `insert into sso_identities (id, tenant_id, connection_id, issuer, subject, user_id, last_authenticated_at)
     values ($1, $2, $3, $4, $5, $6, now())
     on conflict (tenant_id, connection_id, issuer, subject)
     do update set last_authenticated_at = now()`,
    [uuidv7(), tenantId, identity.connectionId, identity.issuer, identity.subject, userId],
  );
}

/** The one write path for accounts, plus the reads the doors need. */
export class UserDirectory {
  constructor(
    private readonly pool: pg.Pool,
    private readonly memberships: UserMemberships = new UserMemberships(),
  ) {}

  async get(tenantId: string, id: string): Promise<UserRecord> {
    if (!isResourceId(id)) throw new DirectoryError('notFound', `user ${id} not found`);
    const { rows } = await this.pool.query<UserRow>({
      name: 'user_by_id',
      text: SELECT_USER,
      values: [tenantId, id],
    });
    const row = rows[0];
    if (!row) throw new DirectoryError('notFound', `user ${id} not found`);
    return userFromRow(row);
  }

  /** Creates an account; refuses a userName or primary email already in use. */
  async create(
    ctx: DirectoryContext,
    requested: UserInput,
    opts: { identity?: LinkedIdentity } = {},
  ): Promise<UserRecord> {
    // The care directory checks and completes the care extension (src/care/user-care.ts).
    const { input } = await prepareUserWrite(this.pool, ctx, undefined, requested);
    const now = new Date();
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    try {
      return await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<UserRow>({
          name: 'user_insert',
          text: INSERT_USER,
          values: [
            uuidv7(),
            ctx.tenantId,
            input.userName,
            input.externalId,
            input.status,
            primaryEmail(input.attrs),
            input.attrs,
            passwordHash,
            now,
          ],
        });
        const row = rows[0] as UserRow;
        const { groups } = await this.memberships.sync(tx, ctx, row.id, {
          transition: undefined,
          audit: { type: 'user.created', before: null, after: auditSnapshot(input) },
        });
        if (opts.identity) await linkIdentity(tx, ctx.tenantId, row.id, opts.identity);
        return { ...userFromRow(row), groups };
      });
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint) throw uniquenessError(constraint, input);
      throw err;
    }
  }

  /** Creates many accounts set-based, each failing alone (users-batch.ts): for bulk imports. */
  createMany(ctx: DirectoryContext, inputs: UserInput[]): Promise<BatchCreateOutcome[]> {
    return createUsers(this.pool, ctx, inputs);
  }

  /**
   * Applies `change` to the current account and stores the result. A change that alters
   * nothing writes nothing (meta.lastModified stays). `ifMatch` is the version the client
   * last saw (RFC 7644 §3.14); a different current version fails with preconditionFailed.
   */
  async update(
    ctx: DirectoryContext,
    id: string,
    change: (current: UserRecord) => UserInput,
    opts: { ifMatch?: number | undefined; auditType?: string } = {},
  ): Promise<{ user: UserRecord; changed: boolean }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.get(ctx.tenantId, id);
      if (opts.ifMatch !== undefined && opts.ifMatch !== current.version) {
        throw new DirectoryError(
          'preconditionFailed',
          `user ${id} has changed (version ${current.version})`,
        );
      }
      const prepared = await prepareUserWrite(this.pool, ctx, current, change(current));
      const next = prepared.input;
      if (!hasChanged(current, next)) return { user: current, changed: false };
      const passwordHash = next.password === undefined ? null : await hashPassword(next.password);
      let written: UserRecord | undefined;
      try {
        written = await withTransaction(this.pool, async (tx) => {
          const { rows } = await tx.query<UserRow>({
            name: 'user_update',
            text: UPDATE_USER,
            values: [
              ctx.tenantId,
              id,
              next.userName,
              next.externalId,
              next.status,
              primaryEmail(next.attrs),
              next.attrs,
              passwordHash,
              new Date(),
              current.version,
            ],
          });
          const row = rows[0];
          if (!row) return undefined;
          // The compare-and-set matched `current`, so its status is the one this write left.
          const { groups } = await this.memberships.sync(tx, ctx, id, {
            transition: transitionOf(current.status, row.status),
            audit: {
              type: opts.auditType ?? 'user.updated',
              before: auditSnapshot(current),
              after: auditSnapshot(next),
            },
          });
          await prepared.after?.(tx);
          return { ...userFromRow(row), groups };
        });
      } catch (err) {
        const constraint = uniqueViolation(err);
        if (constraint) throw uniquenessError(constraint, next);
        throw err;
      }
      if (written) return { user: written, changed: true };
      // Lost the race to another writer: read again and re-apply.
    }
    throw new DirectoryError('conflict', `user ${id} is being changed by others; try again`);
  }

  /**
   * Soft-deletes an account into the user bank: invisible to SCIM, its userName and
   * email free for a new account, the row kept for audit and restore. Its group
   * memberships end (the audit event keeps them).
   */
  async delete(ctx: DirectoryContext, id: string): Promise<void> {
    if (!isResourceId(id)) throw new DirectoryError('notFound', `user ${id} not found`);
    const after = await checkUserDelete(this.pool, ctx, id);
    const rows = await withTransaction(this.pool, async (tx) => {
      const result = await tx.query<{ id: string }>(
        `with l as (${RULE_LOCK_SHARED('$1')}), u as (
         update users set status = 'deleted', deleted_at = now(), updated_at = now(), version = version + 1
         where tenant_id = $1 and id = $2 and status <> 'deleted' and exists (select 1 from l)
         returning *
       ), m as (
         delete from group_members gm using u where gm.user_id = u.id
         returning gm.group_id, gm.source
       ), gl as (
         -- In id order, as user-memberships.ts locks them: no deadlock between two writers.
         select id from groups where id in (select group_id from m) and kind <> 'system'
         order by id for no key update
       ), g as (
         update groups set version = groups.version + 1, updated_at = now()
         from gl where groups.id = gl.id
         returning groups.id, groups.tenant_id, groups.version
       ), gc as (
         insert into change_events (tenant_id, resource_type, resource_id, operation, version)
         select tenant_id, 'Group', id, 'updated', version from g
       ), a as (
         insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, request_id)
         select u.tenant_id, $3, $4, 'user', u.id, 'user.deleted',
                jsonb_build_object('userName', u.user_name, 'groups',
                  (select coalesce(jsonb_agg(jsonb_build_object('group', group_id, 'source', source)), '[]') from m)),
                $5
         from u
       ), c as (
         insert into change_events (tenant_id, resource_type, resource_id, operation, version)
         select tenant_id, 'User', id, 'deleted', version from u
       )
       select u.id from u`,
        [ctx.tenantId, id, ctx.actor.type, ctx.actor.id, ctx.requestId],
      );
      if (result.rows.length > 0) await after(tx);
      return result.rows;
    });
    if (rows.length === 0) throw new DirectoryError('notFound', `user ${id} not found`);
  }
}

function hasChanged(current: UserRecord, next: UserInput): boolean {
  return (
    next.password !== undefined ||
    current.userName !== next.userName ||
    current.externalId !== next.externalId ||
    current.status !== next.status ||
    !isDeepStrictEqual(current.attrs, next.attrs)
  );
}
