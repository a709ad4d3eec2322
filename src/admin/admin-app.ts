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
  app.use('*', bearerAuth(services.tokens, () => ['admin']));
  app.route('/', auditRoutes(services));
  app.route('/', careAdminRoutes(services));
  return app;
}
