import { randomUUID } from 'node:crypto';
import type { UserRecord } from '../directory/user-record.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';

/** The carebridge extension of the SCIM user (built by the care domain). */
export const CAREBRIDGE_USER_URN = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';

/** How long the token handed to the care application lives: it is exchanged at once. */
export const SESSION_TOKEN_SECONDS = 120;

function stringList(v: unknown, pick: (item: Record<string, unknown>) => unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((item) => (typeof item === 'string' ? item : item && typeof item === 'object' ? pick(item) : undefined))
    .filter((s): s is string => typeof s === 'string' && s !== '');
}

/** Care roles and staff member ids from the carebridge extension; empty when it is absent. */
export function careClaims(attrs: Record<string, unknown>): {
  care_roles: string[];
  staff_member_ids: string[];
} {
  const ext = attrs[CAREBRIDGE_USER_URN];
  const e = ext && typeof ext === 'object' ? (ext as Record<string, unknown>) : {};
  return {
    care_roles: stringList(e['careRoles'], (r) => r['role'] ?? r['value']),
    staff_member_ids: [
      ...stringList(e['staffMemberIds'], (s) => s['value']),
      ...stringList(e['staffMembers'], (s) => s['value']),
    ],
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
      amr: ['sso'],
      sso_connection: opts.connection,
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
