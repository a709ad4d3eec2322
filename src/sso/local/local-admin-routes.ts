import { Hono } from 'hono';
import type pg from 'pg';
import { appendAudit } from '../../audit/audit-log.ts';
import type { Directory } from '../../directory/directory.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { AuthError, bearerAuth } from '../../http/bearer-auth.ts';
import type { ApiTokens } from '../../keys/api-tokens.ts';
import { LocalLockouts } from './lockouts.ts';

/**
 * Admin actions on local sign-in (`/admin/v1/local-sign-in`, scope `admin`): unlock an
 * account locked by failed sign-ins, and require a new password at next login.
 */
export function localAdminRoutes(
  tokens: ApiTokens,
  directory: Directory,
  pool: pg.Pool,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const lockouts = new LocalLockouts(pool);
  app.use(bearerAuth(tokens, () => ['admin']));

  app.post('/users/:id/unlock', async (c) => {
    const p = c.get('principal');
    const user = await directory.users.get(p.tenantId, c.req.param('id'));
    const unlocked = await lockouts.unlock(p.tenantId, user.id);
    const ctx = {
      tenantId: p.tenantId,
      actor: { type: 'token' as const, id: p.tokenId },
      requestId: c.get('requestId'),
    };
    await appendAudit(pool, ctx, {
      subjectType: 'user',
      subjectId: user.id,
      type: 'local.unlocked',
      after: { unlocked },
    });
    return c.json({ id: user.id, unlocked });
  });

  app.post('/users/:id/require-password-change', async (c) => {
    const p = c.get('principal');
    const user = await directory.users.get(p.tenantId, c.req.param('id'));
    await lockouts.setMustChangePassword(p.tenantId, user.id, true);
    const ctx = {
      tenantId: p.tenantId,
      actor: { type: 'token' as const, id: p.tokenId },
      requestId: c.get('requestId'),
    };
    await appendAudit(pool, ctx, {
      subjectType: 'user',
      subjectId: user.id,
      type: 'local.password_change_required',
    });
    return c.json({ id: user.id, mustChangePassword: true });
  });

  app.onError((err, c) => {
    if (err instanceof AuthError)
      return c.json({ error: err.code, message: err.message }, err.status);
    if (err instanceof DirectoryError && err.code === 'notFound') {
      return c.json({ error: 'not_found', message: err.message }, 404);
    }
    c.get('log')?.error({ err }, 'admin request failed');
    return c.json(
      { error: 'server_error', message: `internal error; quote request id ${c.get('requestId')}` },
      500,
    );
  });
  return app;
}
