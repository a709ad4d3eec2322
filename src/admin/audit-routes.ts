import { type Context, Hono } from 'hono';
import { queryAudit } from '../audit/audit-history.ts';
import { checkCareAdmin } from '../care/access-rules.ts';
import { accessActor } from '../care/user-care.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { UUID } from '../directory/uuid.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { adminContext, idParam } from './admin-context.ts';

const invalid = (m: string) => new DirectoryError('invalidValue', m);

function dateParam(c: Context<AppEnv>, name: string): Date | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw invalid(`${name} must be a date or date-time (ISO 8601)`);
  // A bare date as `end` means the whole of that day.
  if (name === 'end' && /^\d{4}-\d{2}-\d{2}$/.test(v)) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

function intParam(
  c: Context<AppEnv>,
  name: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const v = c.req.query(name);
  if (v === undefined || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw invalid(`${name} must be a whole number`);
  return Math.min(Math.max(Number(v), min), max);
}

/**
 * `GET /admin/v1/users/:id/history` and `GET /admin/v1/audit`: the audit trail filtered
 * by `start`, `end` (ISO dates), `type` (repeatable or comma-separated) and `staffMember`,
 * paged with `startIndex` (1-based) and `count`.
 */
export function auditRoutes(services: Services) {
  const { db, config } = services;
  const app = new Hono<AppEnv>();

  const page = async (c: Context<AppEnv>, subjectId?: string) => {
    const ctx = adminContext(c);
    // The audit trail is access management: admin or elevated access.
    checkCareAdmin(await accessActor(db.pool, ctx), 'staffMembers');
    const staffMember = c.req.query('staffMember');
    if (staffMember !== undefined && !UUID.test(staffMember)) {
      throw invalid('staffMember must be a staff member id');
    }
    const types = (c.req.queries('type') ?? []).flatMap((t) => t.split(',')).filter(Boolean);
    const startIndex = intParam(c, 'startIndex', 1, 1, Number.MAX_SAFE_INTEGER);
    const count = intParam(c, 'count', 100, 0, config.maxPageSize);
    const result = await queryAudit(db.pool, {
      tenantId: ctx.tenantId,
      subjectId,
      start: dateParam(c, 'start'),
      end: dateParam(c, 'end'),
      types,
      staffMemberId: staffMember,
      startIndex,
      count,
    });
    return c.json({
      totalResults: result.total,
      startIndex,
      itemsPerPage: result.entries.length,
      events: result.entries,
    });
  };

  app.get('/audit', (c) => page(c));
  app.get('/users/:id/history', async (c) => {
    const id = idParam(c, 'id');
    // The user bank and erased accounts keep their history; another tenant's user is 404.
    const { rows } = await db.pool.query('select 1 from users where tenant_id = $1 and id = $2', [
      c.get('principal').tenantId,
      id,
    ]);
    if (rows.length === 0) throw new DirectoryError('notFound', `user ${id} not found`);
    return page(c, id);
  });
  return app;
}
