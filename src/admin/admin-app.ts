import { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import { bearerAuth } from '../http/bearer-auth.ts';
import type { Services } from '../services.ts';
import { adminErrorResponse } from './admin-context.ts';
import { auditRoutes } from './audit-routes.ts';
import { careAdminRoutes } from './care-routes.ts';

/** The care admin API at `/admin/v1`: bearer tokens with the scope `admin`. */
export function careAdminApp(services: Services) {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorResponse);
  // Per prefix, not '*': other doors mount their own admin routes under /admin/v1 too.
  const auth = bearerAuth(services.tokens, () => ['admin']);
  for (const path of ['/audit', '/users/*', '/staff-members/*', '/sites/*']) app.use(path, auth);
  app.route('/', auditRoutes(services));
  app.route('/', careAdminRoutes(services));
  return app;
}
