import type { GroupMember, GroupRecord } from '../directory/group-record.ts';
import type { UserRecord } from '../directory/user-record.ts';
import { CARE_GROUP_SCHEMA, groupExtensionToSCIM } from './group-extension.ts';
import { rolesViaGroups, type UserGroupEntry } from './group-roles.ts';
import { GROUP_SCHEMA, USER_SCHEMA } from './schema-registry.ts';

/** A SCIM resource as plain JSON. */
export type SCIMResource = Record<string, unknown>;

/** The weak ETag of a resource version. @see RFC 7644 §3.14 */
export function etag(version: number): string {
  return `W/"${version}"`;
}

/** Reads the version out of an `If-Match`/`If-None-Match` value; `*` and junk give undefined. */
export function versionFromETag(
  header: string | undefined,
): number | 'any' | 'unknown' | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return 'any';
  const match = /^(?:W\/)?"(\d+)"$/.exec(value);
  return match?.[1] ? Number(match[1]) : 'unknown';
}

/** Builds the full SCIM User from a record; `groups` are added when loaded. */
export function userToSCIM(
  user: UserRecord,
  baseUrl: string,
  groups?: UserGroupEntry[],
): SCIMResource {
  const schemas = [USER_SCHEMA];
  for (const key of Object.keys(user.attrs)) if (key.startsWith('urn:')) schemas.push(key);
  const out: SCIMResource = { schemas, id: user.id };
  if (user.externalId !== null) out['externalId'] = user.externalId;
  out['userName'] = user.userName;
  Object.assign(out, user.attrs);
  out['active'] = user.status === 'active';
  if (groups && groups.length > 0) {
    out['groups'] = groups.map(({ grants: _grants, ...g }) => ({
      ...g,
      $ref: `${baseUrl}/Groups/${g.value}`,
    }));
    // Roles held through groups (issue 4), read-only beside the user's own.
    const viaGroups = rolesViaGroups(groups);
    if (viaGroups.length > 0) {
      const own = Array.isArray(out['roles']) ? (out['roles'] as unknown[]) : [];
      out['roles'] = [...own, ...viaGroups];
    }
  }
  out['meta'] = {
    resourceType: 'User',
    created: user.createdAt.toISOString(),
    lastModified: user.updatedAt.toISOString(),
    location: `${baseUrl}/Users/${user.id}`,
    version: etag(user.version),
  };
  return out;
}

/** Builds the full SCIM Group from a record; `members` are added when loaded. */
export function groupToSCIM(
  group: GroupRecord,
  baseUrl: string,
  members?: GroupMember[],
): SCIMResource {
  const out: SCIMResource = { schemas: [GROUP_SCHEMA], id: group.id };
  for (const key of Object.keys(group.attrs))
    if (key.startsWith('urn:')) (out['schemas'] as string[]).push(key);
  if (group.externalId !== null) out['externalId'] = group.externalId;
  out['displayName'] = group.displayName;
  Object.assign(out, group.attrs);
  if (members && members.length > 0) {
    out['members'] = members.map((m) => ({
      value: m.value,
      display: m.display,
      type: 'User',
      $ref: `${baseUrl}/Users/${m.value}`,
    }));
  }
  const extension = groupExtensionToSCIM(group, members);
  if (extension) {
    out[CARE_GROUP_SCHEMA] = extension;
    (out['schemas'] as string[]).push(CARE_GROUP_SCHEMA);
  }
  out['meta'] = {
    resourceType: 'Group',
    created: group.createdAt.toISOString(),
    lastModified: group.updatedAt.toISOString(),
    location: `${baseUrl}/Groups/${group.id}`,
    version: etag(group.version),
  };
  return out;
}
