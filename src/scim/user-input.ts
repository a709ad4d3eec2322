import type { UserInput, UserRecord, UserStatus } from '../directory/user-record.ts';
import { withoutGroupRoles } from './group-roles.ts';
import type { SCIMResource } from './representation.ts';

/** Attributes that are columns, computed, or messages rather than stored attributes. */
const NOT_ATTRS = new Set([
  'schemas',
  'id',
  'meta',
  'groups',
  'userName',
  'externalId',
  'active',
  'password',
]);

/**
 * Translates a canonical SCIM User into what the directory stores. SCIM's `active` only
 * says whether the account is `active`: when it agrees with the current status, a
 * `pending` or `locked` account keeps its status.
 */
export function userInputFromSCIM(resource: SCIMResource, current?: UserRecord): UserInput {
  const attrs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (!NOT_ATTRS.has(key) && value !== undefined && value !== null) attrs[key] = value;
  }
  // Roles held through groups are shown on the user, never stored with it.
  const roles = withoutGroupRoles(attrs['roles']);
  if (roles === undefined) delete attrs['roles'];
  else attrs['roles'] = roles;
  return {
    userName: resource['userName'] as string,
    externalId: typeof resource['externalId'] === 'string' ? resource['externalId'] : null,
    status: statusFrom(resource['active'], current?.status),
    attrs,
    password: typeof resource['password'] === 'string' ? resource['password'] : undefined,
  };
}

function statusFrom(active: unknown, current: UserStatus | undefined): UserStatus {
  if (active === undefined || active === null) return current ?? 'active';
  if (current !== undefined && active === (current === 'active')) return current;
  return active === true ? 'active' : 'inactive';
}
