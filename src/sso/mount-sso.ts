import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { ssoAdminRoutes } from './admin-routes.ts';
import { localAdminRoutes } from './local/local-admin-routes.ts';
import { OidcConfigurations } from './oidc/oidc-configuration.ts';
import { ssoApp, ssoRuntime } from './sso-app.tsx';

/** Mounts the SSO door (`/sso`) and its admin APIs (`/admin/v1/sso-connections`, `/admin/v1/local-sign-in`). */
export function mountSso(app: Hono<AppEnv>, services: Services): void {
  const rt = ssoRuntime(services, new OidcConfigurations());
  app.route('/sso', ssoApp(rt));
  app.route('/admin/v1/sso-connections', ssoAdminRoutes(services.tokens, rt.connections));
  app.route(
    '/admin/v1/local-sign-in',
    localAdminRoutes(services.tokens, services.directory, rt.pool),
  );
}
