import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../http/app-env.ts';
import { bearerAuth } from '../http/bearer-auth.ts';
import type { Scope } from '../keys/api-tokens.ts';
import type { Services } from '../services.ts';
import { bulkRoute } from './bulk-route.ts';
import { careResourceRoutes } from './care-resources-routes.ts';
import { discoveryRoutes } from './discovery-routes.ts';
import { groupsRoutes } from './groups-routes.ts';
import { rootSearchRoute } from './list-resources.ts';
import { meRoutes } from './me-routes.ts';
import { SCIMError } from './scim-error.ts';
import { usersRoutes } from './users-routes.ts';

const READ: Scope[] = ['scim', 'scim:read'];
const WRITE: Scope[] = ['scim'];
const ME: Scope[] = ['scim:me'];

/** The scopes a SCIM request needs: reads (GET, `/.search`) or writes, or `/Me`. */
export function scopesFor({ method, path }: { method: string; path: string }): Scope[] {
  if (/\/Me(\/|$)/.test(path)) return ME;
  return method === 'GET' || path.endsWith('/.search') ? READ : WRITE;
}

/**
 * The SCIM door, mounted at `/scim/v2`: the token decides the tenant. `dispatch` sends a
 * request through the whole application (Bulk runs each operation that way).
 */
export function scimApp(services: Services, dispatch: (req: Request) => Promise<Response>) {
  const app = new Hono<AppEnv>();
  // A body without Content-Length (chunked) is counted as it arrives and cut off at the
  // limit instead of being read whole into memory first (RFC 7644 §3.7.4). A body with
  // one is bounded by it: readJSONBody refuses a declared size past the limit and reads
  // the rest straight off the socket. Only the chunked case pays for the fetch Request
  // and web stream the counting needs.
  const limitChunkedBody = bodyLimit({
    maxSize: services.config.maxPayloadBytes,
    onError: () => {
      throw new SCIMError(
        413,
        undefined,
        `the request body is larger than ${services.config.maxPayloadBytes} bytes`,
      );
    },
  });
  app.use('*', (c, next) => {
    const sized =
      c.req.header('content-length') !== undefined &&
      c.req.header('transfer-encoding') === undefined;
    return sized || c.req.method === 'GET' || c.req.method === 'HEAD'
      ? next()
      : limitChunkedBody(c, next);
  });
  // Discovery first: readable without a token (RFC 7644 §4).
  app.route('/', discoveryRoutes(services));
  app.use('*', bearerAuth(services.tokens, scopesFor));
  app.route('/Users', usersRoutes(services));
  app.route('/Groups', groupsRoutes(services));
  app.route('/StaffMembers', careResourceRoutes(services, 'StaffMember'));
  app.route('/Sites', careResourceRoutes(services, 'Site'));
  app.route('/Me', meRoutes(services));
  app.post('/.search', rootSearchRoute(services));
  app.post('/Bulk', bulkRoute(services, dispatch));
  return app;
}
