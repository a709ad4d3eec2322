import { CARE_USER_SCHEMA } from '../care/care-extension.ts';
import type { Queryable } from '../db/sql.ts';

/** The filters of the audit history (Care Partner: by date, audit type and staff member). */
export interface AuditQuery {
  tenantId: string;
  /** Only events about this subject (a user's history). */
  subjectId?: string | undefined;
  /** Inclusive start and exclusive end of the period. */
  start?: Date | undefined;
  end?: Date | undefined;
  types?: string[] | undefined;
  /** Events about this staff member, recorded against it, or about the users linked to it. */
  staffMemberId?: string | undefined;
  startIndex: number;
  count: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  type: string;
  actor: { type: string; id: string | null };
  subject: { type: string; id: string | null };
  staffMemberId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

interface AuditRow {
  id: number;
  at: Date;
  type: string;
  actor_type: string;
  actor_id: string | null;
  subject_type: string;
  subject_id: string | null;
  staff_member_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

/**
 * One page of the tenant's audit trail, newest first, with the total: two parameterised
 * statements over the (tenant, subject, at), (tenant, type, at) and (tenant, staff
 * member, at) indexes.
 */
export async function queryAudit(
  db: Queryable,
  q: AuditQuery,
): Promise<{ total: number; entries: AuditEntry[] }> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [q.tenantId];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (q.subjectId !== undefined) add((p) => `subject_id = ${p}`, q.subjectId);
  if (q.start !== undefined) add((p) => `at >= ${p}`, q.start);
  if (q.end !== undefined) add((p) => `at < ${p}`, q.end);
  if (q.types !== undefined && q.types.length > 0) add((p) => `type = any(${p}::text[])`, q.types);
  if (q.staffMemberId !== undefined) {
    // Its own events, and those of the users linked to it (found through users_attrs_gin).
    add(
      (p) => `(staff_member_id = ${p} or subject_id = ${p} or subject_id in (
        select u.id from users u where u.tenant_id = $1 and u.attrs @> jsonb_build_object(
          '${CARE_USER_SCHEMA}', jsonb_build_object('staffMembers',
            jsonb_build_array(jsonb_build_object('value', ${p}::text))))))`,
      q.staffMemberId,
    );
  }
  const filter = where.join(' and ');
  const limit = params.length + 1;
  const [total, rows] = await Promise.all([
    db.query<{ total: number }>(
      `select count(*) as total from audit_events where ${filter}`,
      params,
    ),
    db.query<AuditRow>(
      `select id, at, type, actor_type, actor_id, subject_type, subject_id, staff_member_id, before, after, request_id
       from audit_events where ${filter}
       order by at desc, id desc limit $${limit} offset $${limit + 1}`,
      [...params, q.count, q.startIndex - 1],
    ),
  ]);
  return {
    total: Number(total.rows[0]?.total ?? 0),
    entries: rows.rows.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      type: r.type,
      actor: { type: r.actor_type, id: r.actor_id },
      subject: { type: r.subject_type, id: r.subject_id },
      staffMemberId: r.staff_member_id,
      before: r.before,
      after: r.after,
      requestId: r.request_id,
    })),
  };
}
