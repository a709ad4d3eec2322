import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { careOf, flag } from '../../care/care-extension.ts';
import type { DirectoryContext } from '../../directory/actor.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import type { UserRecord } from '../../directory/user-record.ts';
import type { AppEnv } from '../../http/app-env.ts';
import type { Services } from '../../services.ts';
import { MAX_IMPORT_BYTES, tooLargeMessage } from '../csv/csv-import.ts';

export const CONSOLE_COOKIE = 'cb_console';
/** How long a console session lasts before carebridge's sign-in is asked again. */
const SESSION_SECONDS = 8 * 60 * 60;

/** The signed-in administrator of a console request. */
export interface ConsoleSession {
  user: UserRecord;
  tenantId: string;
  /** The synchronizer token every POST form carries (`_csrf`). */
  csrf: string;
  admin: boolean;
  elevated: boolean;
}

/** The console's request state: the app's, plus the session. */
export interface ConsoleEnv {
  Variables: AppEnv['Variables'] & { session: ConsoleSession };
}

/** Where carebridge's sign-in (local or SSO) hands the session token to the console. */
export function consoleReturnUrl(publicUrl: string): string {
  return `${publicUrl}/admin/session`;
}

const audience = (publicUrl: string) => `${new URL(publicUrl).origin}/admin`;

/** Who may open the console: an active account with admin or elevated access (src/care). */
export function consoleAccess(user: UserRecord): { admin: boolean; elevated: boolean } {
  const ext = careOf(user.attrs);
  const admin = flag(ext, 'adminAccess');
  const elevated = flag(ext, 'elevatedAccess');
  if (user.status !== 'active') {
    throw new DirectoryError('forbidden', 'an account that is not active changes nothing');
  }
  if (!admin && !elevated) {
    throw new DirectoryError(
      'forbidden',
      'the admin console needs admin access or elevated access',
    );
  }
  return { admin, elevated };
}

/**
 * Exchanges the session token of carebridge's sign-in (`?token=`, 2 minutes, audience the
 * console's origin) for the console cookie: a JWT signed by carebridge's key, HttpOnly,
 * SameSite=Lax, scoped to `/admin`, carrying the account, its tenant and a CSRF secret.
 * Nothing is kept in process memory: any instance verifies the cookie.
 */
export async function startSession(c: Context, services: Services, token: string): Promise<void> {
  const { keys, config, directory } = services;
  let claims: { sub?: string; tenant?: unknown };
  try {
    claims = await keys.verify(token, { audience: new URL(config.publicUrl).origin });
  } catch {
    throw new DirectoryError('forbidden', 'the sign-in token is invalid or expired; sign in again');
  }
  if (typeof claims.sub !== 'string' || typeof claims.tenant !== 'string') {
    throw new DirectoryError('forbidden', 'the sign-in token names no account');
  }
  const user = await directory.users.get(claims.tenant, claims.sub);
  consoleAccess(user);
  const cookie = await keys.sign(
    { sub: user.id, tenant: user.tenantId, csrf: randomBytes(24).toString('base64url') },
    { audience: audience(config.publicUrl), expiresIn: `${SESSION_SECONDS}s` },
  );
  setCookie(c, CONSOLE_COOKIE, cookie, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: config.publicUrl.startsWith('https:'),
    path: '/admin',
    maxAge: SESSION_SECONDS,
  });
}

export function endSession(c: Context): void {
  deleteCookie(c, CONSOLE_COOKIE, { path: '/admin' });
}

/** Reads and checks the console cookie; undefined when there is none or it does not hold. */
async function readSession(c: Context, services: Services): Promise<ConsoleSession | undefined> {
  const cookie = getCookie(c, CONSOLE_COOKIE);
  if (!cookie) return undefined;
  let claims: { sub?: unknown; tenant?: unknown; csrf?: unknown };
  try {
    claims = await services.keys.verify(cookie, { audience: audience(services.config.publicUrl) });
  } catch {
    return undefined;
  }
  const { sub, tenant, csrf } = claims;
  if (typeof sub !== 'string' || typeof tenant !== 'string' || typeof csrf !== 'string') {
    return undefined;
  }
  // Read each time: a deactivated administrator or a removed access flag ends the session.
  const user = await services.directory.users.get(tenant, sub).catch(() => undefined);
  if (!user) return undefined;
  try {
    return { user, tenantId: tenant, csrf, ...consoleAccess(user) };
  } catch {
    return undefined;
  }
}

/** True when `given` is the session's CSRF token, compared in constant time. */
export function csrfMatches(session: ConsoleSession, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Console forms whose route reads the body as it streams (and checks its CSRF token). */
const STREAMED_FORMS = new Set(['/admin/import']);

/** Why a form without the session's CSRF token is refused. */
export const STALE_FORM = 'the form is stale: reload the page';

/**
 * The console's guard: no session → the sign-in page (GET) or 401 (POST); a POST must
 * come from this origin and carry the session's CSRF token in its form.
 */
export function consoleAuth(services: Services): MiddlewareHandler<ConsoleEnv> {
  const origin = new URL(services.config.publicUrl).origin;
  return async (c, next) => {
    const session = await readSession(c, services);
    if (!session) {
      if (c.req.method === 'GET') return c.redirect('/admin/sign-in', 303);
      return c.text('sign in first', 401);
    }
    if (c.req.method === 'POST') {
      // Forms are parsed whole (the CSRF token is a field): the import's limit holds first.
      if (Number(c.req.header('content-length') ?? 0) > MAX_IMPORT_BYTES + 64 * 1024) {
        return c.text(tooLargeMessage(MAX_IMPORT_BYTES), 413);
      }
      const from = c.req.header('origin');
      if (from !== undefined && from !== origin) return c.text('cross-origin form refused', 403);
      // An upload streams: its route checks the token, the form's first field, itself.
      if (!STREAMED_FORMS.has(c.req.path)) {
        const form = await c.req.parseBody();
        if (!csrfMatches(session, form['_csrf'])) return c.text(STALE_FORM, 403);
      }
    }
    c.set('session', session);
    await next();
    return undefined;
  };
}

/** The directory context of a console request: the signed-in user, so the access rules apply. */
export function consoleContext(c: Context<ConsoleEnv>): DirectoryContext {
  const session = c.get('session');
  return {
    tenantId: session.tenantId,
    actor: { type: 'user', id: session.user.id },
    requestId: c.get('requestId'),
  };
}
