import type { GroupGrant } from './group-record.ts';

/**
 * A SQL expression for the SCIM `groups` of one user (RFC 7643 §4.1.2): a JSON array of
 * `{value, display}`, one entry per group whatever the sources of the membership, ordered
 * by display name. `userId` is the SQL of the user's id (a column or a parameter), so a
 * read of one user or of a whole page carries its groups without another round trip.
 */
export function userGroupsJSON(userId: string): string {
  return `(SELECT coalesce(jsonb_agg(jsonb_build_object('value', ug.id, 'display', ug.display_name, 'grants', ug.grants)
                    ORDER BY ug.display_name, ug.id), '[]'::jsonb)
           FROM groups ug
           WHERE ug.id IN (SELECT ugm.group_id FROM group_members ugm WHERE ugm.user_id = ${userId}))`;
}

/** The column name under which reads return {@link userGroupsJSON}. */
export const USER_GROUPS_COLUMN = 'scim_groups';

/** The groups a read returned in {@link USER_GROUPS_COLUMN}, as the User representation takes them. */
export function groupsFromColumn(
  value: unknown,
): { value: string; display: string; type: 'direct'; grants?: GroupGrant[] }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((g: { value: string; display: string; grants?: GroupGrant[] }) => ({
    ...g,
    type: 'direct' as const,
  }));
}
