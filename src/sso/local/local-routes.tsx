import { type Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { CARE_USER_SCHEMA } from '../../care/care-extension.ts';
import type { DirectoryContext } from '../../directory/actor.ts';
import { verifyPassword } from '../../directory/passwords.ts';
import type { TenantRecord } from '../../directory/tenants.ts';
import { type UserRecord, type UserRow, userFromRow } from '../../directory/user-record.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { checkAccountStatus, withLastAuthenticated } from '../account-steps.ts';
import { ChangePasswordPage, LocalLoginPage } from '../pages/local-login-page.tsx';
import { checkReturnUrl } from '../return-url.ts';
import { LOCAL_SIGN_IN } from '../session-token.ts';
import { sessionRedirect } from '../sign-in.ts';
import { browserMatches, randomToken, sha256 } from '../signin-state.ts';
import { BROWSER_COOKIE, bindBrowser, type SsoRuntime } from '../sso-app.tsx';
import { SsoError } from '../sso-error.ts';
import {
  type LocalSignInSettings,
  localSignInSettings,
  passwordProblems,
} from './local-settings.ts';
import { LocalLockouts } from './lockouts.ts';

// Verified when no account matches, so a wrong user name costs what a wrong password does.
const DUMMY_HASH =
  'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface LocalContext {
  tenant: TenantRecord;
  settings: LocalSignInSettings;
  ctx: DirectoryContext;
}

/** Step: the tenant and its local sign-in settings; a refusal is audited in that tenant. */
async function localTenant(rt: SsoRuntime, name: string, requestId: string): Promise<LocalContext> {
  const tenant = await rt.directory.tenants.findByName(name);
  const settings = tenant && localSignInSettings(tenant.settings);
  if (!tenant || !settings) throw new SsoError('local_disabled', `no local sign-in for ${name}`);
  return {
    tenant,
    settings,
    ctx: { tenantId: tenant.id, actor: { type: 'sso', id: 'local' }, requestId },
  };
}

function audited<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
  return fn().catch((err) => {
    if (err && typeof err === 'object') (err as { tenantId?: string }).tenantId ??= tenantId;
    throw err;
  });
}

/** Step: the account of a user name (case-insensitive), deleted accounts included to refuse them. */
async function findAccount(
  rt: SsoRuntime,
  tenantId: string,
  userName: string,
): Promise<UserRecord | undefined> {
  const { rows } = await rt.pool.query<UserRow>(
    `select * from users where tenant_id = $1 and lower(user_name) = lower($2)
     order by (status = 'deleted'), created_at desc limit 1`,
    [tenantId, userName],
  );
  return rows[0] && userFromRow(rows[0]);
}

/**
 * Step: the password, checked in constant time whatever the account; a failure counts
 * towards the tenant's lockout and is audited with how many failures are left.
 */
async function checkPassword(
  lockouts: LocalLockouts,
  l: LocalContext,
  user: UserRecord | undefined,
  password: string,
): Promise<UserRecord> {
  if (user) {
    const until = await lockouts.lockedUntil(l.tenant.id, user.id);
    if (until) {
      const err = new SsoError('locked_out', `locked until ${until.toISOString()}`);
      err.userId = user.id;
      throw err;
    }
  }
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  if (ok && user) {
    await lockouts.reset(l.tenant.id, user.id);
    return user;
  }
  if (!user) throw new SsoError('invalid_credentials', 'no such user name');
  const { lockedUntil } = await lockouts.recordFailure(
    l.tenant.id,
    user.id,
    l.settings.maxFailedAttempts,
    l.settings.lockoutMinutes,
  );
  const err = lockedUntil
    ? new SsoError('locked_out', `locked until ${lockedUntil.toISOString()} after failed sign-ins`)
    : new SsoError('invalid_credentials', 'wrong password');
  err.userId = user.id;
  throw err;
}

/** Step: records the sign-in (lastAuthenticated) through the write path and hands over the session. */
async function finishLocal(
  rt: SsoRuntime,
  l: LocalContext,
  user: UserRecord,
  returnUrl: string,
  newPassword?: string,
): Promise<string> {
  const now = new Date();
  const { user: updated } = await rt.directory.users.update(
    l.ctx,
    user.id,
    (current) => {
      let attrs = withLastAuthenticated(current.attrs, now);
      if (newPassword !== undefined) {
        const ext = (attrs[CARE_USER_SCHEMA] ?? {}) as Record<string, unknown>;
        attrs = {
          ...attrs,
          [CARE_USER_SCHEMA]: { ...ext, passwordLastChanged: now.toISOString() },
        };
      }
      return {
        userName: current.userName,
        externalId: current.externalId,
        status: current.status,
        attrs,
        ...(newPassword === undefined ? {} : { password: newPassword }),
      };
    },
    { auditType: newPassword === undefined ? 'user.signed_in' : 'user.password_changed' },
  );
  return sessionRedirect(rt, { slug: LOCAL_SIGN_IN }, updated, returnUrl);
}

/** Local sign-in (password) at `/sso/local/:tenant/login`, for accounts no IdP covers. */
export function localRoutes(rt: SsoRuntime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const lockouts = new LocalLockouts(rt.pool);
  const field = (form: Record<string, unknown>, name: string) =>
    typeof form[name] === 'string' ? (form[name] as string) : '';

  app.get('/:tenant/login', async (c) => {
    const l = await localTenant(rt, c.req.param('tenant'), c.get('requestId'));
    return audited(l.tenant.id, async () => {
      const returnTo = checkReturnUrl(c.req.query('return_to'), l.settings.allowedReturnUrls);
      return c.html(<LocalLoginPage tenant={l.tenant.name} returnTo={returnTo} />);
    });
  });

  app.post('/:tenant/login', async (c) => {
    const l = await localTenant(rt, c.req.param('tenant'), c.get('requestId'));
    return audited(l.tenant.id, async () => {
      const form = await c.req.parseBody();
      const returnUrl = checkReturnUrl(field(form, 'return_to'), l.settings.allowedReturnUrls);
      const found = await findAccount(rt, l.tenant.id, field(form, 'username'));
      const user = await checkPassword(lockouts, l, found, field(form, 'password'));
      checkAccountStatus(user);
      if (await lockouts.mustChangePassword(l.tenant.id, user.id)) {
        return changePassword(c, rt, l, user.id, returnUrl, undefined);
      }
      return c.redirect(await finishLocal(rt, l, user, returnUrl), 303);
    });
  });

  app.post('/:tenant/password', async (c) => {
    const l = await localTenant(rt, c.req.param('tenant'), c.get('requestId'));
    return audited(l.tenant.id, async () => {
      const form = await c.req.parseBody();
      const state = await rt.states.consumeKind(field(form, 'state'), 'password_change');
      if (!state || state.tenantId !== l.tenant.id) {
        throw new SsoError('state_mismatch', 'unknown, used or expired password-change state');
      }
      if (!browserMatches(state.browserHash, getCookie(c, BROWSER_COOKIE))) {
        throw new SsoError('state_mismatch', 'the password change was started by another browser');
      }
      const userId = (state.payload as { userId: string }).userId;
      const newPassword = field(form, 'new_password');
      const problems = passwordProblems(newPassword, l.settings.passwordRules);
      if (problems.length > 0) {
        return changePassword(
          c,
          rt,
          l,
          userId,
          state.returnUrl,
          `It still needs ${problems.join(', ')}.`,
        );
      }
      const user = await rt.directory.users.get(l.tenant.id, userId);
      checkAccountStatus(user);
      const location = await finishLocal(rt, l, user, state.returnUrl, newPassword);
      await lockouts.setMustChangePassword(l.tenant.id, user.id, false);
      return c.redirect(location, 303);
    });
  });
  return app;
}

/** The change-password page, its state bound to this browser (no password kept anywhere). */
async function changePassword(
  c: Context<AppEnv>,
  rt: SsoRuntime,
  l: LocalContext,
  userId: string,
  returnUrl: string,
  error: string | undefined,
): Promise<Response> {
  const browser = randomToken();
  const state = await rt.states.save({
    tenantId: l.tenant.id,
    connectionId: null,
    kind: 'password_change',
    browserHash: sha256(browser),
    nonce: null,
    codeVerifier: null,
    samlRequestId: null,
    returnUrl,
    payload: { userId },
  });
  bindBrowser(c, browser, rt.publicUrl);
  return c.html(
    <ChangePasswordPage
      tenant={l.tenant.name}
      state={state}
      rules={passwordProblems('', l.settings.passwordRules)}
      error={error}
    />,
    error ? 400 : 200,
  );
}
