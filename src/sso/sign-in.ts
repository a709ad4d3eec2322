import type pg from 'pg';
import type { DirectoryContext } from '../directory/actor.ts';
import type { Directory } from '../directory/directory.ts';
import type { UserRecord } from '../directory/user-record.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import {
  checkAccountStatus,
  createAccount,
  findByVerifiedEmail,
  findLinkedAccount,
  linkIdentity,
  refreshAccount,
} from './account-steps.ts';
import type { IdpIdentity } from './attribute-mapping.ts';
import type { SsoConnection } from './connections.ts';
import { issueSessionToken, returnUrlWithToken } from './session-token.ts';
import { randomToken, type SigninStates, sha256 } from './signin-state.ts';
import { SsoError } from './sso-error.ts';
import {
  localeFromAcceptLanguage,
  matchLocale,
  matchTimeZone,
  type SupportedLists,
  supportedLists,
} from './tenant-locales.ts';

/** What the sign-in steps need; built once from the services. */
export interface SsoDeps {
  pool: pg.Pool;
  directory: Directory;
  keys: SigningKeys;
  states: SigninStates;
}

/** How a finished IdP round trip ends: back to the application, or the first-login page. */
export type SignInOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'first_login'; state: string; browser: string; payload: FirstLoginPayload };

/** What the first-login page carries between the IdP's answer and the account's creation. */
export interface FirstLoginPayload {
  identity: IdpIdentity;
  /** The supported locale found (claim or Accept-Language), if any. */
  locale: string | undefined;
  /** The supported zone from the `zoneinfo` claim, if any. */
  timezone: string | undefined;
  /** What the IdP or browser said when it is not supported (shown on the page). */
  unsupportedLocale: string | undefined;
  unsupportedTimezone: string | undefined;
}

export function ssoContext(connection: SsoConnection, requestId: string): DirectoryContext {
  return { tenantId: connection.tenantId, actor: { type: 'sso', id: connection.slug }, requestId };
}

export async function tenantLists(pool: pg.Pool, tenantId: string): Promise<SupportedLists> {
  const { rows } = await pool.query<{ settings: Record<string, unknown> }>(
    'select settings from tenants where id = $1',
    [tenantId],
  );
  return supportedLists(rows[0]?.settings ?? {});
}

/**
 * The steps after the IdP's answer was verified: find the account (linked identity, then
 * verified email when allowed), refuse it unless active, refresh it; or, for a first login,
 * create it when the locale and zone are known and supported, else ask on the page.
 */
export async function completeSignIn(
  deps: SsoDeps,
  connection: SsoConnection,
  identity: IdpIdentity,
  opts: { requestId: string; returnUrl: string; acceptLanguage: string | undefined },
): Promise<SignInOutcome> {
  const ctx = ssoContext(connection, opts.requestId);
  const linked = await findLinkedAccount(deps.pool, connection, identity);
  const existing = linked ?? (await findByVerifiedEmail(deps.pool, connection, identity));
  if (existing) {
    checkAccountStatus(existing);
    await linkIdentity(deps.pool, connection, identity, existing.id);
    const user = await refreshAccount(deps.directory, ctx, connection, identity, existing);
    return {
      kind: 'redirect',
      location: await sessionRedirect(deps, connection, user, opts.returnUrl),
    };
  }
  if (!connection.jit) {
    throw new SsoError('no_account', `no account for ${identity.issuer} ${identity.subject}`);
  }
  const lists = await tenantLists(deps.pool, connection.tenantId);
  const claimed = matchLocale(identity.locale, lists.locales);
  const locale =
    claimed ??
    (identity.locale ? undefined : localeFromAcceptLanguage(opts.acceptLanguage, lists.locales));
  const timezone = matchTimeZone(identity.zoneinfo, lists.timeZones);
  if (locale && timezone) {
    return {
      kind: 'redirect',
      location: await createAndRedirect(deps, connection, identity, { locale, timezone }, opts),
    };
  }
  const payload: FirstLoginPayload = {
    identity,
    locale,
    timezone,
    unsupportedLocale: locale ? undefined : (identity.locale ?? opts.acceptLanguage?.split(',')[0]),
    unsupportedTimezone: timezone ? undefined : identity.zoneinfo,
  };
  const browser = randomToken();
  const state = await deps.states.save({
    tenantId: connection.tenantId,
    connectionId: connection.id,
    kind: 'first_login',
    browserHash: sha256(browser),
    nonce: null,
    codeVerifier: null,
    samlRequestId: null,
    returnUrl: opts.returnUrl,
    payload,
  });
  return { kind: 'first_login', state, browser, payload };
}

/** Creates the account on first login (linked to the identity) and hands over the session. */
export async function createAndRedirect(
  deps: SsoDeps,
  connection: SsoConnection,
  identity: IdpIdentity,
  choice: { locale: string; timezone: string },
  opts: { requestId: string; returnUrl: string },
): Promise<string> {
  const ctx = ssoContext(connection, opts.requestId);
  const user = await createAccount(deps.directory, ctx, connection, identity, choice);
  return sessionRedirect(deps, connection, user, opts.returnUrl);
}

/** The return URL with a new session token for the account, its groups read in one query. */
export async function sessionRedirect(
  deps: SsoDeps,
  connection: SsoConnection | { slug: string },
  user: UserRecord,
  returnUrl: string,
): Promise<string> {
  const groups = await deps.directory.groups.groupsOf(user.tenantId, [user.id]);
  const token = await issueSessionToken(deps.keys, user, {
    returnUrl,
    groups: (groups.get(user.id) ?? []).map((g) => g.display),
    connection: connection.slug,
  });
  return returnUrlWithToken(returnUrl, token);
}
