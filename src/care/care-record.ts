import type { Queryable } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { UUID } from '../directory/uuid.ts';

/** A staff member or a site as stored: the SCIM attributes other than the columns in `attrs`. */
export interface CareRecord {
  id: string;
  tenantId: string;
  displayName: string;
  externalId: string | null;
  attrs: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a door asks to store about a staff member or a site. */
export interface CareInput {
  displayName: string;
  externalId: string | null;
  attrs: Record<string, unknown>;
}

export interface CareRow {
  id: string;
  tenant_id: string;
  display_name: string;
  external_id: string | null;
  attrs: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export function careRecordFromRow(row: CareRow): CareRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    displayName: row.display_name,
    externalId: row.external_id,
    attrs: row.attrs,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Reads and locks a staff member or site for a change in the caller's transaction:
 * concurrent writers of one record queue up. `ifMatch` is the version the client last
 * saw (RFC 7644 §3.14).
 */
export async function lockCareRecord(
  db: Queryable,
  table: 'sites' | 'staff_members',
  tenantId: string,
  id: string,
  opts: { noun: string; ifMatch?: number | undefined },
): Promise<CareRecord> {
  const { rows } = await db.query<CareRow>(
    `select * from ${table} where tenant_id = $1 and id = $2 for update`,
    [tenantId, UUID.test(id) ? id : null],
  );
  if (!rows[0]) throw new DirectoryError('notFound', `${opts.noun} ${id} not found`);
  const current = careRecordFromRow(rows[0]);
  if (opts.ifMatch !== undefined && opts.ifMatch !== current.version) {
    throw new DirectoryError(
      'preconditionFailed',
      `${opts.noun} ${id} has changed (version ${current.version})`,
    );
  }
  return current;
}

/** What audit events record of a staff member or site. */
export function careSnapshot(r: CareInput): CareInput {
  return { displayName: r.displayName, externalId: r.externalId, attrs: r.attrs };
}

/** The audit subject types of the care directory. */
export type CareSubject = 'user' | 'staff_member' | 'site';

/**
 * Appends an audit event and its change event (outbox) in the caller's transaction;
 * `staffMemberId` lets the audit history filter by staff member.
 */
export async function recordCareChange(
  db: Queryable,
  ctx: DirectoryContext,
  e: {
    subjectType: CareSubject;
    subjectId: string;
    type: string;
    before?: unknown;
    after?: unknown;
    staffMemberId?: string | null;
    resourceType: 'StaffMember' | 'Site' | 'User';
    operation: 'created' | 'updated' | 'deleted';
    version: number | null;
  },
): Promise<void> {
  await db.query(
    `with a as (
       insert into audit_events
         (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id, staff_member_id)
       values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10)
     )
     insert into change_events (tenant_id, resource_type, resource_id, operation, version)
     values ($1, $11, $5, $12, $13)`,
    [
      ctx.tenantId,
      ctx.actor.type,
      ctx.actor.id,
      e.subjectType,
      e.subjectId,
      e.type,
      e.before === undefined ? null : JSON.stringify(e.before),
      e.after === undefined ? null : JSON.stringify(e.after),
      ctx.requestId,
      e.staffMemberId ?? null,
      e.resourceType,
      e.operation,
      e.version,
    ],
  );
}
