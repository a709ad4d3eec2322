import type { GroupGrant } from '../directory/group-record.ts';

/** A group of a user as reads return it, with what the group grants its members. */
export interface UserGroupEntry {
  value: string;
  display: string;
  type: string;
  grants?: GroupGrant[];
}

/** The `roles` type prefix of a role a user holds through a group. */
export const GROUP_ROLE_TYPE = 'group:';

/**
 * The roles a user holds through its groups, as entries of the User's `roles` (RFC 7643
 * §4.1.2): `type` is `group:<displayName>`; a SCIM role's `value` is the role, a care
 * role's is `careRole:<role>@<site>`. Read-only: they come and go with the membership,
 * and a PUT or PATCH that sends them back does not store them (see user-input.ts).
 */
export function rolesViaGroups(groups: UserGroupEntry[]): SCIMResource[] {
  const roles: SCIMResource[] = [];
  for (const g of groups) {
    for (const grant of g.grants ?? []) {
      roles.push(
        grant.type === 'scimRole'
          ? { value: grant.value, display: grant.value, type: `${GROUP_ROLE_TYPE}${g.display}` }
          : {
              value: `careRole:${grant.value}@${grant.site ?? ''}`,
              display: `${grant.value} at ${grant.site ?? ''}`,
              type: `${GROUP_ROLE_TYPE}${g.display}`,
            },
      );
    }
  }
  return roles;
}

type SCIMResource = Record<string, unknown>;

/** Drops the group roles a client sent back: they are shown, never stored. */
export function withoutGroupRoles(roles: unknown): unknown {
  if (!Array.isArray(roles)) return roles;
  const own = roles.filter(
    (r) => !(r && typeof r === 'object' && String(r.type ?? '').startsWith(GROUP_ROLE_TYPE)),
  );
  return own.length > 0 ? own : undefined;
}
