import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { careAdminApp } from './admin/admin-app.ts';
import { consoleApp } from './admin/console/console-app.tsx';
import { importAdminApp } from './admin/csv/import-routes.ts';
import { LoggedInvitationStub } from './admin/csv/invitations.ts';
import { groupRulesAdminApp } from './admin/group-rules-routes.ts';
import type { AppEnv } from './http/app-env.ts';
import { AuthError } from './http/bearer-auth.ts';
import { requestContext } from './http/request-id.ts';
import { oauthRoutes } from './keys/oauth-routes.ts';
import { scimApp } from './scim/scim-app.ts';
import { errorStatus, scimErrorResponse } from './scim/scim-error-response.ts';
import type { Services } from './services.ts';
import { mountSso } from './sso/mount-sso.ts';

/** The largest OAuth token request or sign-in form body accepted. */
const FORM_LIMIT = 1024 * 1024;

const tooLarge = (): never => {
  throw new HTTPException(413, { message: `the request body is larger than ${FORM_LIMIT} bytes` });
};

/** Builds the HTTP application from its services: every door is mounted here. */
export function createApp(services: Services, log: Logger): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext(log));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await services.db.pool.query('select 1');
      return c.json({ status: 'ok' });
    } catch {
      return c.json(
        { error: 'database_unreachable', message: 'the database does not answer' },
        503,
      );
    }
  });
  app.get('/.well-known/jwks.json', (c) => c.json(services.keys.jwks()));
  // Token requests and sign-in posts (a SAML response included) are small: bodies are
  // counted as they stream in and cut off past the limit, never read whole first.
  for (const path of ['/oauth/*', '/sso/*'])
    app.use(path, bodyLimit({ maxSize: FORM_LIMIT, onError: tooLarge }));
  app.route('/oauth', oauthRoutes(services));
  mountSso(app, services);
  app.route('/admin/v1', careAdminApp(services));
  app.route('/admin/v1', groupRulesAdminApp(services));
  const invitations = new LoggedInvitationStub(log);
  app.route('/admin/v1', importAdminApp(services, invitations));
  app.route('/admin', consoleApp(services, invitations));
  app.route(
    '/scim/v2',
    scimApp(services, async (req) => app.fetch(req)),
  );

  app.notFound((c) =>
    c.json({ error: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    const requestId = c.get('requestId') ?? 'unknown';
    const status = errorStatus(err);
    // Refusals are the client's business; only faults of ours are errors worth a page.
    if (status >= 500) c.get('log')?.error({ err }, 'request failed');
    else c.get('log')?.debug({ err: { type: err.name, message: err.message } }, 'request refused');
    if (c.req.path.startsWith('/scim/')) return scimErrorResponse(c, err, requestId);
    if (err instanceof AuthError) {
      return c.json({ error: err.code, message: err.message }, err.status);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const error = err.status === 413 ? 'payload_too_large' : 'bad_request';
      return c.json({ error, message: err.message }, err.status);
    }
    return c.json(
      { error: 'server_error', message: `internal error; quote request id ${requestId}` },
      500,
    );
  });
  return app;
}
