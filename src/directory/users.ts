import type pg from 'pg';
import { ReferenceCache } from '../care/reference-cache.ts';
import { checkUserDelete, prepareUserWrite } from '../care/user-care.ts';
import {
  BatchedTransaction,
  type Queryable,
  type Statement,
  transactionInOneTrip,
  uniqueViolation,
  withTransaction,
} from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import { hashPassword } from './passwords.ts';
import { lockRules, ruleLock } from './rule-sql.ts';
import { type ActiveTransition, UserMemberships, type UserRowWrite } from './user-memberships.ts';
import {
  auditSnapshot,
  hasChanged,
  primaryEmail,
  type UserInput,
  type UserRecord,
  type UserRow,
  userFromRow,
} from './user-record.ts';
import {
  type BatchCreateOutcome,
  type BatchUpdate,
  type BatchUpdateOutcome,
  type CreateCaches,
  createUsers,
  preconditionFailed,
  updateUsers,
} from './users-batch.ts';
import { newId, UUID } from './uuid.ts';
import { type Settled, WriteCoalescer } from './write-coalescer.ts';

/** True when `id` can be a user or group id; anything else cannot exist (404, never 500). */
export function isResourceId(id: string): boolean {
  return UUID.test(id);
}

/** Whether a write moves the account in or out of `active` (what memberships follow). */
function transitionOf(before: UserRecord['status'], after: UserRecord['status']): ActiveTransition {
  if (before === 'active' && after !== 'active') return 'deactivated';
  if (before !== 'active' && after === 'active') return 'reactivated';
  return undefined;
}

const SELECT_USER = `select * from users where tenant_id = $1 and id = $2 and status <> 'deleted'`;

/** The account and the tenant's rule generation, the row locked for the write that follows. */
const SELECT_USER_FOR_WRITE = `
  select u.*, t.rule_generation from users u join tenants t on t.id = u.tenant_id
  where u.tenant_id = $1 and u.id = $2 and u.status <> 'deleted'
  for update of u`;

/** How often a write is sent again because a rule changed while it was on its way. */
const MAX_ATTEMPTS = 20;

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
  await db.query(linkIdentityStatement(tenantId, userId, identity));
}

/** {@link linkIdentity} as a statement; it links nothing when the account was not stored. */
function linkIdentityStatement(tenantId: string, userId: string, identity: LinkedIdentity) {
  return {
    text: `insert into sso_identities (id, tenant_id, connection_id, issuer, subject, user_id, last_authenticated_at)
           select $1, $2, $3, $4, $5, $6, now()
           where exists (select 1 from users where id = $6)
           on conflict (tenant_id, connection_id, issuer, subject)
           do update set last_authenticated_at = now()`,
    values: [newId(), tenantId, identity.connectionId, identity.issuer, identity.subject, userId],
  };
}

/** Writes of one tenant and actor may share a transaction (one audit actor, one access check). */
export const actorLane = (ctx: DirectoryContext) =>
  `${ctx.tenantId}\u0000${ctx.actor.type}\u0000${ctx.actor.id ?? ''}`;

interface PendingCreate {
  ctx: DirectoryContext;
  input: UserInput;
}

interface PendingUpdate {
  ctx: DirectoryContext;
  id: string;
  change: (current: UserRecord) => UserInput;
  ifMatch: number | undefined;
  auditType: string | undefined;
}

type UpdateResult = { user: UserRecord; changed: boolean };

/** The one write path for accounts, plus the reads the doors need. */
export class UserDirectory {
  private readonly creates: WriteCoalescer<PendingCreate, UserRecord>;
  private readonly caches: CreateCaches;
  private readonly updates: WriteCoalescer<PendingUpdate, UpdateResult>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly memberships: UserMemberships = new UserMemberships(),
  ) {
    this.caches = { memberships: this.memberships, references: new ReferenceCache() };
    this.creates = new WriteCoalescer({
      lane: ({ ctx }) => actorLane(ctx),
      one: ({ ctx, input }) => this.createOne(ctx, input),
      many: (items) => this.createBatch(items),
    });
    this.updates = new WriteCoalescer({
      lane: ({ ctx, auditType }) => `${actorLane(ctx)}\u0000${auditType ?? ''}`,
      apart: ({ id }) => id,
      one: (u) => this.updateOne(u.ctx, u.id, u.change, u),
      many: (items) => this.updateBatch(items),
    });
  }

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

  /**
   * Creates an account; refuses a userName or primary email already in use. Creates of
   * one tenant and actor that arrive while one is on its way are sent together, set-based
   * (write-coalescer.ts); one alone goes in one round trip: the rule lock, the account
   * with its memberships and audit event, and the commit.
   */
  create(
    ctx: DirectoryContext,
    requested: UserInput,
    opts: { identity?: LinkedIdentity } = {},
  ): Promise<UserRecord> {
    if (opts.identity) return this.createOne(ctx, requested, opts);
    return this.creates.submit({ ctx, input: requested });
  }

  private async createBatch(items: PendingCreate[]): Promise<Settled<UserRecord>[]> {
    const outcomes = await createUsers(
      this.pool,
      this.caches,
      (items[0] as PendingCreate).ctx,
      items.map((i) => i.input),
      { answers: true, requestIds: items.map((i) => i.ctx.requestId) },
    );
    return outcomes.map((o) => {
      if (!o.ok) return { ok: false, error: o.error };
      if (!o.user) return { ok: false, error: new Error('a batch create answered no account') };
      return { ok: true, value: o.user };
    });
  }

  private async createOne(
    ctx: DirectoryContext,
    requested: UserInput,
    opts: { identity?: LinkedIdentity } = {},
  ): Promise<UserRecord> {
    const id = newId();
    const at = new Date();
    let passwordHash: string | null | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // The rule generation is read before the references are checked: a staff member or
      // site deleted after the check moves it on (fenceUserWrites), and the write below
      // then stores nothing and is prepared again.
      const set = await this.memberships.ruleSet(this.pool, ctx.tenantId);
      // The care directory checks and completes the care extension (src/care/user-care.ts).
      const { input } = await prepareUserWrite(this.pool, ctx, undefined, requested);
      passwordHash ??= input.password === undefined ? null : await hashPassword(input.password);
      const row: UserRowWrite = {
        id,
        userName: input.userName,
        externalId: input.externalId,
        status: input.status,
        primaryEmail: primaryEmail(input.attrs),
        attrs: input.attrs,
        passwordHash,
        at,
      };
      const audit = { type: 'user.created', before: null, after: auditSnapshot(input) };
      const statements: Statement[] = [
        ruleLock(ctx.tenantId, 'shared'),
        this.memberships.statement(set, ctx, row, { transition: undefined, audit }),
      ];
      if (opts.identity) statements.push(linkIdentityStatement(ctx.tenantId, id, opts.identity));
      let results: pg.QueryResult[];
      try {
        results = await transactionInOneTrip(this.pool, statements);
      } catch (err) {
        const constraint = uniqueViolation(err);
        if (constraint) throw uniquenessError(constraint, input);
        throw err;
      }
      const outcome = UserMemberships.outcome(results[1] as pg.QueryResult);
      if (outcome) return { ...userFromRow(outcome.row), groups: outcome.groups };
      // A rule, or something the account refers to, changed since the rules were compiled.
      this.memberships.forget(ctx.tenantId);
    }
    throw new DirectoryError('conflict', 'the group rules keep changing; try again');
  }

  /** Creates many accounts set-based, each failing alone (users-batch.ts): for bulk imports. */
  createMany(ctx: DirectoryContext, inputs: UserInput[]): Promise<BatchCreateOutcome[]> {
    return createUsers(this.pool, this.caches, ctx, inputs);
  }

  /**
   * Applies `change` to the current account and stores the result. A change that alters
   * nothing writes nothing (meta.lastModified stays). `ifMatch` is the version the client
   * last saw (RFC 7644 §3.14); a different current version fails with preconditionFailed.
   *
   * Changes of one tenant and actor that arrive while one is on its way are sent
   * together, set-based (users-batch.ts): an IdP deactivating hundreds of leavers at once.
   * One alone goes in two round trips: the rule lock with the account row locked for
   * update, then the write with its memberships, audit event and token follow-ups, and
   * the commit.
   */
  async update(
    ctx: DirectoryContext,
    id: string,
    change: (current: UserRecord) => UserInput,
    opts: { ifMatch?: number | undefined; auditType?: string } = {},
  ): Promise<UpdateResult> {
    if (!isResourceId(id)) throw new DirectoryError('notFound', `user ${id} not found`);
    return this.updates.submit({
      ctx,
      id,
      change,
      ifMatch: opts.ifMatch,
      auditType: opts.auditType,
    });
  }

  /**
   * A batch of coalesced changes. When one of them takes a userName or email in use, the
   * batch is applied again one change at a time, so that only that one fails.
   */
  private async updateBatch(items: PendingUpdate[]): Promise<Settled<UpdateResult>[]> {
    const first = items[0] as PendingUpdate;
    let outcomes: BatchUpdateOutcome[];
    try {
      outcomes = await updateUsers(
        this.pool,
        this.memberships,
        first.ctx,
        items.map((i) => ({
          id: i.id,
          change: i.change,
          ifMatch: i.ifMatch,
          requestId: i.ctx.requestId,
        })),
        { answers: true, ...(first.auditType ? { auditType: first.auditType } : {}) },
      );
    } catch (err) {
      if (!uniqueViolation(err)) throw err;
      const alone: Settled<UpdateResult>[] = [];
      for (const i of items) {
        try {
          alone.push({ ok: true, value: await this.updateOne(i.ctx, i.id, i.change, i) });
        } catch (error) {
          alone.push({ ok: false, error });
        }
      }
      return alone;
    }
    return outcomes.map((o) => {
      if (!o.ok) return { ok: false, error: o.error };
      if (!o.user) return { ok: false, error: new Error('a batch update answered no account') };
      return { ok: true, value: { user: o.user, changed: o.changed } };
    });
  }

  private async updateOne(
    ctx: DirectoryContext,
    id: string,
    change: (current: UserRecord) => UserInput,
    opts: { ifMatch?: number | undefined; auditType?: string | undefined },
  ): Promise<UpdateResult> {
    const { tx, results } = await BatchedTransaction.begin(this.pool, [
      ruleLock(ctx.tenantId, 'shared'),
      { name: 'user_for_write', text: SELECT_USER_FOR_WRITE, values: [ctx.tenantId, id] },
    ]);
    let committed = false;
    try {
      const locked = results[1]?.rows[0] as (UserRow & { rule_generation: number }) | undefined;
      if (!locked) throw new DirectoryError('notFound', `user ${id} not found`);
      const { rule_generation: generation, ...currentRow } = locked;
      const current = userFromRow(currentRow);
      if (opts.ifMatch !== undefined && opts.ifMatch !== current.version) {
        throw preconditionFailed(current);
      }
      // Inside the transaction: the checks see what the write will be stored next to.
      const prepared = await prepareUserWrite(tx.queryable, ctx, current, change(current));
      const next = prepared.input;
      if (!hasChanged(current, next)) return { user: current, changed: false };
      const passwordHash = next.password === undefined ? null : await hashPassword(next.password);
      // The rule lock is held, so the set read for this generation stays the tenant's.
      const set = await this.memberships.ruleSet(tx.queryable, ctx.tenantId, Number(generation));
      const write = this.memberships.statement(
        set,
        ctx,
        {
          id,
          userName: next.userName,
          externalId: next.externalId,
          status: next.status,
          primaryEmail: primaryEmail(next.attrs),
          attrs: next.attrs,
          passwordHash,
          at: new Date(),
          replacesVersion: current.version,
        },
        {
          transition: transitionOf(current.status, next.status),
          audit: {
            type: opts.auditType ?? 'user.updated',
            before: auditSnapshot(current),
            after: auditSnapshot(next),
          },
        },
      );
      let written: pg.QueryResult[];
      committed = true; // commit() ends the transaction whether or not it fails
      try {
        written = await tx.commit([write, ...(prepared.after ?? [])]);
      } catch (err) {
        const constraint = uniqueViolation(err);
        if (constraint) throw uniquenessError(constraint, next);
        throw err;
      }
      const outcome = UserMemberships.outcome(written[0] as pg.QueryResult);
      // The row is locked and the rule set current: the write cannot have missed.
      if (!outcome) throw new Error(`the write of user ${id} stored nothing`);
      return { user: { ...userFromRow(outcome.row), groups: outcome.groups }, changed: true };
    } finally {
      if (!committed) await tx.rollback();
    }
  }

  /**
   * Changes many accounts set-based, each failing alone (users-batch.ts): for bulk imports.
   * When a change of the batch takes a userName or email in use, the batch is applied again
   * one account at a time, so that only the rows that take one fail.
   */
  async updateMany(
    ctx: DirectoryContext,
    changes: BatchUpdate[],
    opts: { auditType?: string } = {},
  ): Promise<BatchUpdateOutcome[]> {
    try {
      return await updateUsers(this.pool, this.memberships, ctx, changes, opts);
    } catch (err) {
      if (!uniqueViolation(err)) throw err;
    }
    const outcomes: BatchUpdateOutcome[] = [];
    for (const { id, change } of changes) {
      try {
        const { changed } = await this.updateOne(ctx, id, change, opts);
        outcomes.push({ ok: true, changed });
      } catch (err) {
        outcomes.push({ ok: false, error: err });
      }
    }
    return outcomes;
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
      // Its own statement first: the delete's snapshot must see every rule membership a
      // rule change committed while this write waited for the lock.
      await lockRules(tx, ctx.tenantId, 'shared');
      const result = await tx.query<{ id: string }>(
        `with u as (
         update users set status = 'deleted', deleted_at = now(), updated_at = now(), version = version + 1
         where tenant_id = $1 and id = $2 and status <> 'deleted'
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
      if (result.rows.length > 0) for (const statement of after) await tx.query(statement);
      return result.rows;
    });
    if (rows.length === 0) throw new DirectoryError('notFound', `user ${id} not found`);
  }
}
