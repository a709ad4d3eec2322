import type { Context } from 'hono';
import { Hono } from 'hono';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { AuthError, bearerAuth } from '../http/bearer-auth.ts';
import type { ApiTokens } from '../keys/api-tokens.ts';
import { ConnectionInputSchema } from './connection-settings.ts';
import { redactConnection, type SsoConnections } from './connections.ts';

const STATUS: Partial<Record<DirectoryError['code'], 400 | 403 | 404 | 409 | 412>> = {
  notFound: 404,
  uniqueness: 409,
  invalidValue: 400,
  mutability: 400,
  preconditionFailed: 412,
  forbidden: 403,
  conflict: 409,
};

function ctxOf(c: Context<AppEnv>): DirectoryContext {
  const p = c.get('principal');
  return {
    tenantId: p.tenantId,
    actor: { type: 'token', id: p.tokenId },
    requestId: c.get('requestId'),
  };
}

/**
 * The admin API for SSO connections (`/admin/v1/sso-connections`), scope `admin`; the
 * token's tenant is the tenant whose connections are managed. Secrets never come back.
 */
export function ssoAdminRoutes(tokens: ApiTokens, connections: SsoConnections): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(bearerAuth(tokens, () => ['admin']));

  app.get('/', async (c) => {
    const list = await connections.list(c.get('principal').tenantId);
    return c.json({ connections: list.map(redactConnection) });
  });

  app.get('/:slug', async (c) =>
    c.json(
      redactConnection(await connections.get(c.get('principal').tenantId, c.req.param('slug'))),
    ),
  );

  // PUT creates or replaces the connection named in the URL.
  app.put('/:slug', async (c) => {
    const body = await c.req.json().catch(() => undefined);
    const parsed = ConnectionInputSchema.safeParse({ ...(body ?? {}), slug: c.req.param('slug') });
    if (!parsed.success) {
      return c.json(
        {
          error: 'invalid_request',
          message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        },
        400,
      );
    }
    const { connection, created } = await connections.put(ctxOf(c), parsed.data);
    return c.json(redactConnection(connection), created ? 201 : 200);
  });

  app.delete('/:slug', async (c) => {
    await connections.remove(ctxOf(c), c.req.param('slug'));
    return c.body(null, 204);
  });

  app.onError((err, c) => {
    if (err instanceof AuthError)
      return c.json({ error: err.code, message: err.message }, err.status);
    if (err instanceof DirectoryError) {
      return c.json({ error: err.code, message: err.message }, STATUS[err.code] ?? 400);
    }
    c.get('log')?.error({ err }, 'admin request failed');
    return c.json(
      { error: 'server_error', message: `internal error; quote request id ${c.get('requestId')}` },
      500,
    );
  });
  return app;
}
