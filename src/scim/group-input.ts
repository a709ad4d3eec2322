import type { GroupInput } from '../directory/group-record.ts';
import type { SCIMResource } from './representation.ts';

const NOT_ATTRS = new Set(['schemas', 'id', 'meta', 'members', 'displayName', 'externalId']);

/** Translates a canonical SCIM Group into what the directory stores about the group itself. */
export function groupInputFromSCIM(resource: SCIMResource): GroupInput {
  const attrs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (!NOT_ATTRS.has(key) && value !== undefined && value !== null) attrs[key] = value;
  }
  return {
    displayName: resource['displayName'] as string,
    externalId: typeof resource['externalId'] === 'string' ? resource['externalId'] : null,
    attrs,
  };
}

/** The member ids of a canonical SCIM Group. */
export function memberIds(resource: SCIMResource): string[] {
  const members = resource['members'];
  if (!Array.isArray(members)) return [];
  return members.map((m: { value: string }) => m.value);
}
