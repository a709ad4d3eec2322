import { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { isScope, type Scope } from './api-tokens.ts';

const ACCESS_TOKEN_SECONDS = 3600;

type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

/** The OAuth 2.0 token endpoint: client-credentials grant only (RFC 6749 §4.4). */
export function oauthRoutes(services: Services) {
  const app = new Hono<AppEnv>();

  app.post('/token', async (c) => {
    c.header('Cache-Control', 'no-store');
    const fail = (status: 400 | 401, error: OAuthErrorCode, description: string) =>
      c.json({ error, error_description: description }, status);

    const type = c.req.header('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return fail(400, 'invalid_request', 'send the request as application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(await c.req.text());
    if (form.get('grant_type') !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 'only the client_credentials grant is supported');
    }
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
      clientId = decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' '));
    }
    if (!clientId || !clientSecret)
      return fail(401, 'invalid_client', 'client authentication is required');
    const client = await services.clients.authenticate(clientId, clientSecret);
    if (!client) {
      if (basic) c.header('WWW-Authenticate', 'Basic realm="carebridge"');
      return fail(401, 'invalid_client', 'unknown client or wrong secret');
    }
    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    let scopes: Scope[] = client.scopes;
    if (requested.length > 0) {
      if (!requested.every((s) => isScope(s) && client.scopes.includes(s))) {
        return fail(400, 'invalid_scope', `this client may ask for: ${client.scopes.join(' ')}`);
      }
      scopes = requested as Scope[];
    }
    const issued = await services.tokens.issue({
      tenantId: client.tenantId,
      scopes,
      name: `client ${client.clientId}`,
      clientId: client.clientId,
      expiresInSeconds: ACCESS_TOKEN_SECONDS,
    });
    return c.json({
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      scope: scopes.join(' '),
    });
  });

  return app;
}
