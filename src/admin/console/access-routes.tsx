import { Hono } from 'hono';
import { appendAudit } from '../../audit/audit-log.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import { UUID } from '../../directory/uuid.ts';
import type { Services } from '../../services.ts';
import { SsoConnections } from '../../sso/connections.ts';
import { AccessPage, type TokenView } from '../pages/access-page.tsx';
import { type ConsoleEnv, consoleContext } from './console-session.ts';

/** The console's SSO connections (read-only) and API tokens (revocable by admin access). */
export function consoleAccessRoutes(services: Services) {
  const { db, tokens } = services;
  const connections = new SsoConnections(db.pool);
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const session = c.get('session');
    const [list, rows] = await Promise.all([
      connections.list(session.tenantId),
      db.pool.query<TokenView>(
        `select t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.suspended_at,
                u.user_name
         from api_tokens t left join users u on u.id = t.subject_user_id
         where t.tenant_id = $1 order by t.created_at desc, t.id limit 200`,
        [session.tenantId],
      ),
    ]);
    return c.html(
      <AccessPage
        connections={list}
        tokens={rows.rows}
        admin={session.admin}
        signedIn={session.user.userName}
        csrf={session.csrf}
        notice={c.req.query('done') === 'revoked' ? 'The token is revoked.' : undefined}
      />,
    );
  });

  app.post('/tokens/:id/revoke', async (c) => {
    const session = c.get('session');
    if (!session.admin)
      throw new DirectoryError('forbidden', 'revoking API tokens needs admin access');
    const id = c.req.param('id');
    if (!UUID.test(id) || !(await tokens.revoke(session.tenantId, id))) {
      throw new DirectoryError('notFound', `no active token ${id}`);
    }
    await appendAudit(db.pool, consoleContext(c), {
      subjectType: 'token',
      subjectId: id,
      type: 'token.revoked',
    });
    return c.redirect('/admin/access?done=revoked', 303);
  });
  return app;
}
