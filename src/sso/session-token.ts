import { randomUUID } from 'node:crypto';
import { CARE_USER_SCHEMA, careOf, rolesOf, staffMemberIdsOf } from '../care/care-extension.ts';
import type { UserRecord } from '../directory/user-record.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';

/** The carebridge extension of the SCIM user (built by the care domain). */
export const CAREBRIDGE_USER_URN = CARE_USER_SCHEMA;

/** The `connection` of a local (password) sign-in; no slug can take this form. */
export const LOCAL_SIGN_IN = '(local)';

/** How long the token handed to the care application lives: it is exchanged at once. */
export const SESSION_TOKEN_SECONDS = 120;

/** A care role as the session token carries it: the role at one site. */
export interface CareRoleClaim {
  site: string;
  role: string;
}

/**
 * Care roles (enabled sites only) and staff member ids from the carebridge extension, read
 * with the care domain's own accessors; empty arrays when the extension is absent.
 */
export function careClaims(attrs: Record<string, unknown>): {
  care_roles: CareRoleClaim[];
  staff_member_ids: string[];
} {
  const ext = careOf(attrs);
  return {
    care_roles: rolesOf(ext)
      .filter((r) => r.disabled !== true)
      .map((r) => ({ site: r.site, role: r.role })),
    staff_member_ids: staffMemberIdsOf(ext),
  };
}

/**
 * The short-lived JWT a care application receives after sign-in, signed by carebridge's
 * current key (verifiable against `/.well-known/jwks.json`, so a later rotation does not
 * break it). Its audience is the origin of the return URL it is sent to.
 */
export async function issueSessionToken(
  keys: SigningKeys,
  user: UserRecord,
  opts: { returnUrl: string; groups: string[]; connection: string },
): Promise<string> {
  const locale = typeof user.attrs['locale'] === 'string' ? user.attrs['locale'] : null;
  const zoneinfo = typeof user.attrs['timezone'] === 'string' ? user.attrs['timezone'] : null;
  return keys.sign(
    {
      jti: randomUUID(),
      sub: user.id,
      tenant: user.tenantId,
      preferred_username: user.userName,
      locale,
      zoneinfo,
      groups: opts.groups,
      ...careClaims(user.attrs),
      ...(opts.connection === LOCAL_SIGN_IN
        ? { amr: ['pwd'] }
        : { amr: ['sso'], sso_connection: opts.connection }),
    },
    { audience: new URL(opts.returnUrl).origin, expiresIn: `${SESSION_TOKEN_SECONDS}s` },
  );
}

/** The return URL with the token added as `token` (replacing one the URL may carry). */
export function returnUrlWithToken(returnUrl: string, token: string): string {
  const url = new URL(returnUrl);
  url.searchParams.set('token', token);
  return url.toString();
}
