import type { Context } from 'hono';
import type pg from 'pg';
import { appendAudit } from '../audit/audit-log.ts';
import type { AppEnv } from '../http/app-env.ts';
import { ErrorPage } from './pages/error-page.tsx';
import { SsoError } from './sso-error.ts';

/**
 * The one place a refused or failed sign-in reaches the wire: audited against the tenant
 * of the connection (when known), logged without secrets, shown as a page that says why.
 */
export async function ssoErrorResponse(
  c: Context<AppEnv>,
  err: unknown,
  pool: pg.Pool,
): Promise<Response> {
  const requestId = c.get('requestId') ?? 'unknown';
  const known = err instanceof SsoError;
  const code = known ? err.code : 'server_error';
  if (known) c.get('log')?.info({ code, detail: err.detail }, 'sign-in refused');
  else c.get('log')?.error({ err }, 'sign-in failed');
  const tenantId = known ? err.tenantId : (err as { tenantId?: string }).tenantId;
  if (tenantId) {
    const connectionId = known ? err.connectionId : (err as { connectionId?: string }).connectionId;
    const userId = known ? err.userId : undefined;
    await appendAudit(
      pool,
      { tenantId, actor: { type: 'sso', id: connectionId ?? null }, requestId },
      {
        subjectType: userId ? 'user' : 'sso_connection',
        subjectId: userId ?? connectionId ?? null,
        type: known ? 'sso.signin_refused' : 'sso.signin_failed',
        after: { code, ...(known && err.detail ? { detail: err.detail } : {}) },
      },
    ).catch((auditErr) => c.get('log')?.error({ err: auditErr }, 'audit of a refusal failed'));
  }
  const message = known
    ? err.userMessage
    : `Sign-in failed because of an error on our side. Quote request id ${requestId}.`;
  return c.html(
    <ErrorPage code={code} message={message} requestId={requestId} />,
    known ? err.status : 500,
  );
}
