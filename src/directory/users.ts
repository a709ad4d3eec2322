import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { uniqueViolation } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import { hashPassword } from './passwords.ts';
import {
  auditSnapshot,
  primaryEmail,
  type UserInput,
  type UserRecord,
  type UserRow,
  userFromRow,
} from './user-record.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a user or group id; anything else cannot exist (404, never 500). */
export function isResourceId(id: string): boolean {
  return UUID.test(id);
}

// One statement writes the row, its audit event and its change event: atomic without a
// transaction round trip, which is most of the cost of a write on this path.
const INSERT_USER = `
  with u as (
    insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs,
                       password_hash, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)
    returning *
  ), a as (
    insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, after, request_id)
    select tenant_id, $10, $11, 'user', id, 'user.created', $12::jsonb, $13 from u
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select tenant_id, 'User', id, 'created', version from u
  )
  select * from u`;

// Compare-and-set on `version`: a concurrent writer makes this match no row, and the
// caller re-reads and re-applies its change instead of overwriting the other one.
const UPDATE_USER = `
  with u as (
    update users set user_name = $3, external_id = $4, status = $5, primary_email = $6,
                     attrs = $7, password_hash = coalesce($8, password_hash),
                     version = version + 1, updated_at = $9
    where tenant_id = $1 and id = $2 and version = $10 and status <> 'deleted'
    returning *
  ), a as (
    insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
    select tenant_id, $11, $12, 'user', id, $13, $14::jsonb, $15::jsonb, $16 from u
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select tenant_id, 'User', id, 'updated', version from u
  )
  select * from u`;

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

/** The one write path for accounts, plus the reads the doors need. */
export class UserDirectory {
  constructor(private readonly pool: pg.Pool) {}

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
  async create(ctx: DirectoryContext, input: UserInput): Promise<UserRecord> {
    const now = new Date();
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    try {
      const { rows } = await this.pool.query<UserRow>({
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
          ctx.actor.type,
          ctx.actor.id,
          JSON.stringify(auditSnapshot(input)),
          ctx.requestId,
        ],
      });
      return userFromRow(rows[0] as UserRow);
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint) throw uniquenessError(constraint, input);
      throw err;
    }
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
      const next = change(current);
      if (!hasChanged(current, next)) return { user: current, changed: false };
      const passwordHash = next.password === undefined ? null : await hashPassword(next.password);
      let rows: UserRow[];
      try {
        ({ rows } = await this.pool.query<UserRow>({
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
            ctx.actor.type,
            ctx.actor.id,
            opts.auditType ?? 'user.updated',
            JSON.stringify(auditSnapshot(current)),
            JSON.stringify(auditSnapshot(next)),
            ctx.requestId,
          ],
        }));
      } catch (err) {
        const constraint = uniqueViolation(err);
        if (constraint) throw uniquenessError(constraint, next);
        throw err;
      }
      const row = rows[0];
      if (row) return { user: userFromRow(row), changed: true };
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
    const { rows } = await this.pool.query<UserRow & { groups: string[] }>(
      `with u as (
         update users set status = 'deleted', deleted_at = now(), updated_at = now(), version = version + 1
         where tenant_id = $1 and id = $2 and status <> 'deleted'
         returning *
       ), m as (
         delete from group_members gm using u where gm.user_id = u.id
         returning gm.group_id, gm.source
       ), g as (
         update groups set version = version + 1, updated_at = now()
         where id in (select group_id from m)
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
