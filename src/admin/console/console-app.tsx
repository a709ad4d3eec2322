import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { DirectoryError } from '../../directory/directory-error.ts';
import { SCIMError } from '../../scim/scim-error.ts';
import type { Services } from '../../services.ts';
import { SsoConnections } from '../../sso/connections.ts';
import { localSignInSettings } from '../../sso/local/local-settings.ts';
import { ImportError } from '../csv/import-error.ts';
import type { InvitationOutbox } from '../csv/invitations.ts';
import { ConsoleErrorPage, type SignInOption, SignInPage } from '../pages/sign-in-page.tsx';
import { consoleAccessRoutes } from './access-routes.tsx';
import { consoleCareRoutes } from './care-routes.tsx';
import {
  type ConsoleEnv,
  consoleAuth,
  consoleReturnUrl,
  endSession,
  startSession,
} from './console-session.ts';
import { consoleGroupRoutes } from './group-routes.tsx';
import { consoleImportRoutes } from './import-routes.tsx';
import { consoleUserRoutes } from './user-routes.tsx';

const STATUS: Record<string, 400 | 403 | 404 | 409 | 412> = {
  notFound: 404,
  forbidden: 403,
  uniqueness: 409,
  conflict: 409,
  preconditionFailed: 412,
};

/** The console's one error mapping: a page that names the rule that refused. */
function consoleError(err: Error, c: Context<ConsoleEnv>): Response | Promise<Response> {
  const requestId = c.get('requestId') ?? 'unknown';
  const csrf = c.get('session')?.csrf;
  let status: 400 | 403 | 404 | 409 | 412 | 413 | 500 = 500;
  let message = `internal error; quote request id ${requestId}`;
  if (err instanceof DirectoryError) {
    status = STATUS[err.code] ?? 400;
    message = err.message;
  } else if (err instanceof ImportError || err instanceof SCIMError) {
    status = err instanceof ImportError && err.code === 'tooLarge' ? 413 : 400;
    message = err.message;
  } else if (err instanceof HTTPException && err.status < 500) {
    status = 400;
    message = err.message;
  } else {
    c.get('log')?.error({ err }, 'console request failed');
  }
  return c.html(
    <ConsoleErrorPage status={status} message={message} requestId={requestId} csrf={csrf} />,
    status,
  );
}

/** The ways into a tenant whose allowed return URLs include the console's. */
async function signInOptions(services: Services, tenantName: string): Promise<SignInOption[]> {
  const tenant = await services.directory.tenants.findByName(tenantName);
  if (!tenant) return [];
  const back = consoleReturnUrl(services.config.publicUrl);
  const returnTo = `return_to=${encodeURIComponent(back)}`;
  const options: SignInOption[] = [];
  for (const connection of await new SsoConnections(services.db.pool).list(tenant.id)) {
    if (connection.enabled && connection.allowedReturnUrls.includes(back)) {
      options.push({
        label: `Sign in with ${connection.slug}`,
        href: `/sso/${encodeURIComponent(connection.slug)}/login?${returnTo}`,
      });
    }
  }
  const local = localSignInSettings(tenant.settings);
  if (local?.allowedReturnUrls.includes(back)) {
    options.push({
      label: 'Sign in with a carebridge password',
      href: `/sso/local/${encodeURIComponent(tenant.name)}/login?${returnTo}`,
    });
  }
  return options;
}

/**
 * The admin console at `/admin`, server-rendered with Hono's JSX. Sign-in is carebridge's
 * own (local or SSO) with `<PUBLIC_URL>/admin/session` as the return URL; the session is a
 * signed cookie (src/admin/console/console-session.ts). Every action goes through the
 * directory and care services with the signed-in user as the actor, so the care access
 * rules decide what is allowed, and every list is SCIM filter/sort SQL.
 */
export function consoleApp(services: Services, outbox: InvitationOutbox) {
  const app = new Hono<ConsoleEnv>();
  app.onError(consoleError);
  // Per path, never '*': this app is mounted at /admin, beside the admin API at /admin/v1.
  const pages = ['/', '/sign-out'];
  for (const section of ['users', 'groups', 'staff-members', 'sites', 'import', 'access']) {
    pages.push(`/${section}`, `/${section}/*`);
  }
  for (const path of [...pages, '/sign-in', '/session']) {
    app.use(path, async (c, next) => {
      await next();
      c.header('Content-Security-Policy', "frame-ancestors 'none'");
      c.header('Cache-Control', 'no-store');
      // same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` on our forms.
      c.header('Referrer-Policy', 'same-origin');
    });
  }

  app.get('/sign-in', async (c) => {
    const tenant = (c.req.query('tenant') ?? '').trim().slice(0, 100);
    const options = tenant ? await signInOptions(services, tenant) : [];
    return c.html(<SignInPage tenant={tenant} options={options} />);
  });
  app.get('/session', async (c) => {
    await startSession(c, services, c.req.query('token') ?? '');
    return c.redirect('/admin/users', 303);
  });

  const auth = consoleAuth(services);
  for (const path of pages) app.use(path, auth);
  app.get('/', (c) => c.redirect('/admin/users', 303));
  app.post('/sign-out', (c) => {
    endSession(c);
    return c.redirect('/admin/sign-in', 303);
  });
  app.route('/users', consoleUserRoutes(services));
  app.route('/groups', consoleGroupRoutes(services));
  app.route('/staff-members', consoleCareRoutes(services, 'staff-members'));
  app.route('/sites', consoleCareRoutes(services, 'sites'));
  app.route('/import', consoleImportRoutes(services, outbox));
  app.route('/access', consoleAccessRoutes(services));
  return app;
}
