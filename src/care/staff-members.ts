import type pg from 'pg';
import { type Queryable, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { fenceUserWrites, lockRules } from '../directory/rule-sql.ts';
import { syncMemberships } from '../directory/user-memberships-batch.ts';
import { auditSnapshot, type UserStatus } from '../directory/user-record.ts';
import { newId, UUID } from '../directory/uuid.ts';
import { checkCareAdmin } from './access-rules.ts';
import { CARE_USER_SCHEMA } from './care-extension.ts';
import {
  type CareInput,
  type CareRecord,
  type CareRow,
  careRecordFromRow,
  careSnapshot,
  lockCareRecord,
  recordCareChange,
} from './care-record.ts';
import { accessActor } from './user-care.ts';

const notFound = (id: string) => new DirectoryError('notFound', `staff member ${id} not found`);
const invalid = (m: string) => new DirectoryError('invalidValue', m);

/** The access configuration "copy access configuration from an existing staff member" copies. */
const ACCESS_CONFIGURATION = ['centresOfCare', 'primaryCentreOfCare', 'securityRole'] as const;

/**
 * Staff members: care worker records that exist with or without users, with their own
 * centres of care, security role and active flag (deactivating a user leaves them be).
 * Every write runs in one transaction with its audit and change events.
 */
export class StaffMembers {
  constructor(private readonly pool: pg.Pool) {}

  async get(tenantId: string, id: string, db: Queryable = this.pool): Promise<CareRecord> {
    if (!UUID.test(id)) throw notFound(id);
    const { rows } = await db.query<CareRow>(
      'select * from staff_members where tenant_id = $1 and id = $2',
      [tenantId, id],
    );
    if (!rows[0]) throw notFound(id);
    return careRecordFromRow(rows[0]);
  }

  /** The users linked to each staff member of `ids`, in one query (a GIN probe per id). */
  async usersOf(
    tenantId: string,
    ids: string[],
  ): Promise<Map<string, { value: string; display: string }[]>> {
    const out = new Map<string, { value: string; display: string }[]>();
    if (ids.length === 0) return out;
    const { rows } = await this.pool.query<{ staff_id: string; id: string; user_name: string }>(
      `select s.id as staff_id, u.id, u.user_name
       from unnest($2::text[]) s(id)
       join users u on u.tenant_id = $1 and u.status <> 'deleted'
        and u.attrs @> jsonb_build_object($3::text, jsonb_build_object('staffMembers',
              jsonb_build_array(jsonb_build_object('value', s.id))))
       order by u.user_name`,
      [tenantId, ids, CARE_USER_SCHEMA],
    );
    for (const r of rows) {
      const list = out.get(r.staff_id) ?? [];
      list.push({ value: r.id, display: r.user_name });
      out.set(r.staff_id, list);
    }
    return out;
  }

  /**
   * Creates a staff member; `copyFrom` copies the access configuration (centres of care,
   * security role) of an existing one, under whatever the input sets itself.
   */
  async create(
    ctx: DirectoryContext,
    input: CareInput,
    opts: { copyFrom?: string | undefined } = {},
  ): Promise<CareRecord> {
    return withTransaction(this.pool, async (db) => {
      // Shared with user writes: a site deleted meanwhile (fenceUserWrites) is seen by checkCentres.
      await lockRules(db, ctx.tenantId, 'shared');
      checkCareAdmin(await accessActor(db, ctx), 'staffMembers');
      let attrs: Record<string, unknown> = { active: true, ...input.attrs };
      if (opts.copyFrom !== undefined) {
        const source = await this.get(ctx.tenantId, opts.copyFrom, db);
        const copied: Record<string, unknown> = {};
        for (const k of ACCESS_CONFIGURATION)
          if (source.attrs[k] !== undefined) copied[k] = source.attrs[k];
        attrs = { ...copied, ...attrs };
      }
      attrs = await checkCentres(db, ctx.tenantId, attrs);
      const now = new Date();
      const { rows } = await db.query<CareRow>(
        `insert into staff_members (id, tenant_id, display_name, external_id, attrs, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $6) returning *`,
        [newId(), ctx.tenantId, input.displayName, input.externalId, attrs, now],
      );
      const staff = careRecordFromRow(rows[0] as CareRow);
      await recordCareChange(db, ctx, {
        subjectType: 'staff_member',
        subjectId: staff.id,
        staffMemberId: staff.id,
        type: 'staffMember.created',
        after: { ...careSnapshot(staff), ...(opts.copyFrom ? { copiedFrom: opts.copyFrom } : {}) },
        resourceType: 'StaffMember',
        operation: 'created',
        version: staff.version,
      });
      return staff;
    });
  }

  async update(
    ctx: DirectoryContext,
    id: string,
    change: (current: CareRecord) => CareInput,
    opts: { ifMatch?: number | undefined } = {},
  ): Promise<CareRecord> {
    return withTransaction(this.pool, async (db) => {
      // Before any row lock. A rename is copied into its users' accounts: no user write may
      // be in flight with the old name, nor be sent after it with a name read before it.
      await fenceUserWrites(db, ctx.tenantId);
      checkCareAdmin(await accessActor(db, ctx), 'staffMembers');
      const current = await lockCareRecord(db, 'staff_members', ctx.tenantId, id, {
        noun: 'staff member',
        ifMatch: opts.ifMatch,
      });
      const next = change(current);
      const attrs = await checkCentres(db, ctx.tenantId, next.attrs);
      const { rows: updated } = await db.query<CareRow>(
        `update staff_members set display_name = $3, external_id = $4, attrs = $5,
                                  version = version + 1, updated_at = now()
         where tenant_id = $1 and id = $2 returning *`,
        [ctx.tenantId, id, next.displayName, next.externalId, attrs],
      );
      const staff = careRecordFromRow(updated[0] as CareRow);
      if (staff.displayName !== current.displayName) await renameOnUsers(db, ctx, staff);
      const deactivated = current.attrs['active'] !== false && attrs['active'] === false;
      const reactivated = current.attrs['active'] === false && attrs['active'] !== false;
      await recordCareChange(db, ctx, {
        subjectType: 'staff_member',
        subjectId: id,
        staffMemberId: id,
        type: deactivated
          ? 'staffMember.deactivated'
          : reactivated
            ? 'staffMember.reactivated'
            : 'staffMember.updated',
        before: careSnapshot(current),
        after: careSnapshot(staff),
        resourceType: 'StaffMember',
        operation: 'updated',
        version: staff.version,
      });
      return staff;
    });
  }

  /** Deletes a staff member no user is linked to (unlink or deactivate it otherwise). */
  async delete(ctx: DirectoryContext, id: string): Promise<void> {
    await withTransaction(this.pool, async (db) => {
      checkCareAdmin(await accessActor(db, ctx), 'staffMembers');
      // Users written meanwhile, or prepared before and sent after, cannot keep a reference to it.
      await fenceUserWrites(db, ctx.tenantId);
      const staff = await this.get(ctx.tenantId, id, db);
      const { rows } = await db.query(
        `select 1 from users where tenant_id = $1 and status <> 'deleted'
           and attrs @> jsonb_build_object($3::text, jsonb_build_object('staffMembers',
                 jsonb_build_array(jsonb_build_object('value', $2::text)))) limit 1`,
        [ctx.tenantId, id, CARE_USER_SCHEMA],
      );
      if (rows.length > 0) {
        throw new DirectoryError(
          'conflict',
          `staff member ${id} is linked to users; unlink it first or deactivate it`,
        );
      }
      await db.query('delete from staff_members where tenant_id = $1 and id = $2', [
        ctx.tenantId,
        id,
      ]);
      await recordCareChange(db, ctx, {
        subjectType: 'staff_member',
        subjectId: id,
        staffMemberId: id,
        type: 'staffMember.deleted',
        before: careSnapshot(staff),
        resourceType: 'StaffMember',
        operation: 'deleted',
        version: null,
      });
    });
  }

  /** Clones a staff member: a new name, the same centres of care and security role. */
  async clone(ctx: DirectoryContext, sourceId: string, displayName: string): Promise<CareRecord> {
    return this.create(ctx, { displayName, externalId: null, attrs: {} }, { copyFrom: sourceId });
  }
}

/** Centres of care must be sites of the tenant; the primary one is among them. */
async function checkCentres(
  db: Queryable,
  tenantId: string,
  attrs: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const out = { ...attrs };
  const centres = Array.isArray(out['centresOfCare'])
    ? [...(out['centresOfCare'] as string[])]
    : [];
  const primary = out['primaryCentreOfCare'];
  if (
    typeof primary === 'string' &&
    !centres.some((c) => c.toLowerCase() === primary.toLowerCase())
  ) {
    centres.unshift(primary);
  }
  if (centres.length === 0) return out;
  const { rows } = await db.query<{ code: string }>(
    `select attrs->>'code' as code from sites
     where tenant_id = $1 and lower(attrs->>'code') = any($2::text[]) and coalesce(attrs->>'kind', 'site') = 'site'`,
    [tenantId, centres.map((c) => c.toLowerCase())],
  );
  const known = new Map(rows.map((r) => [r.code.toLowerCase(), r.code]));
  out['centresOfCare'] = centres.map((c) => {
    const code = known.get(c.toLowerCase());
    if (!code) throw invalid(`there is no site ${c} to be a centre of care`);
    return code;
  });
  if (typeof primary === 'string') out['primaryCentreOfCare'] = known.get(primary.toLowerCase());
  return out;
}

/**
 * Copies a staff member's new name into the `staffMembers` display of every account linked
 * to it, each account with a new version and a change event (its representation changed),
 * then follows the accounts' write path: each gets its `user.updated` audit event and its
 * rule memberships are evaluated again (a rule may match on the staff member's name).
 * The caller holds the tenant's rule lock exclusively (fenceUserWrites).
 */
async function renameOnUsers(
  db: Queryable,
  ctx: DirectoryContext,
  staff: CareRecord,
): Promise<void> {
  const { rows } = await db.query<{
    id: string;
    user_name: string;
    external_id: string | null;
    status: UserStatus;
    before_attrs: Record<string, unknown>;
    attrs: Record<string, unknown>;
  }>(
    `with linked as (
       select u.id, u.attrs from users u
       where u.tenant_id = $1 and u.erased_at is null
         and u.attrs @> jsonb_build_object($3::text, jsonb_build_object('staffMembers',
               jsonb_build_array(jsonb_build_object('value', $2::text))))
       for update
     ), renamed as (
       update users u set
         attrs = jsonb_set(u.attrs, array[$3, 'staffMembers'],
           (select jsonb_agg(case when e->>'value' = $2::text
                                  then jsonb_set(e, '{display}', to_jsonb($4::text)) else e end
                             order by n)
            from jsonb_array_elements(u.attrs->$3->'staffMembers') with ordinality as x(e, n))),
         version = u.version + 1, updated_at = now()
       from linked l where u.id = l.id
       returning u.id, u.user_name, u.external_id, u.status, u.version, l.attrs as before_attrs, u.attrs
     ), changed as (
       insert into change_events (tenant_id, resource_type, resource_id, operation, version)
       select $1, 'User', id, 'updated', version from renamed
     )
     select id, user_name, external_id, status, before_attrs, attrs from renamed order by id`,
    [ctx.tenantId, staff.id, CARE_USER_SCHEMA, staff.displayName],
  );
  const account = (r: (typeof rows)[number], attrs: Record<string, unknown>) =>
    auditSnapshot({ userName: r.user_name, externalId: r.external_id, status: r.status, attrs });
  await syncMemberships(
    db,
    ctx,
    rows.map((r) => ({
      id: r.id,
      audit: {
        type: 'user.updated',
        before: account(r, r.before_attrs),
        after: account(r, r.attrs),
      },
    })),
  );
}
