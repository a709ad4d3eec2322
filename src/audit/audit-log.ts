import type { Queryable, Statement } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';

/** One append-only audit event. */
export interface AuditEvent {
  subjectType: 'user' | 'group' | 'tenant' | 'token' | 'sso_connection';
  subjectId: string | null;
  type: string;
  before?: unknown;
  after?: unknown;
}

/** Appends one audit event in the caller's transaction. */
export async function appendAudit(
  db: Queryable,
  ctx: DirectoryContext,
  event: AuditEvent,
): Promise<void> {
  await db.query(auditStatement(ctx, event));
}

/** {@link appendAudit} as a statement, for a transaction sent in batches. */
export function auditStatement(ctx: DirectoryContext, event: AuditEvent): Statement {
  return {
    text: `insert into audit_events
             (tenant_id, actor_type, actor_id, subject_type, subject_id, type, before, after, request_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    values: [
      ctx.tenantId,
      ctx.actor.type,
      ctx.actor.id,
      event.subjectType,
      event.subjectId,
      event.type,
      event.before === undefined ? null : JSON.stringify(event.before),
      event.after === undefined ? null : JSON.stringify(event.after),
      ctx.requestId,
    ],
  };
}
