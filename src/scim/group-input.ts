import type { GroupInput } from '../directory/group-record.ts';
import { CARE_GROUP_SCHEMA, groupExtensionFromSCIM } from './group-extension.ts';
import type { SCIMResource } from './representation.ts';

const NOT_ATTRS = new Set([
  'schemas',
  'id',
  'meta',
  'members',
  'displayName',
  'externalId',
  CARE_GROUP_SCHEMA,
]);

/**
 * Translates a canonical SCIM Group into what the directory stores about the group itself.
 * The carebridge extension becomes the rule and grants; when it is absent, `'keep'` (PUT)
 * leaves them as they are and `'clear'` (PATCH of the stored group) removes them.
 */
export function groupInputFromSCIM(
  resource: SCIMResource,
  absentExtension: 'keep' | 'clear' = 'keep',
): GroupInput {
  const attrs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (!NOT_ATTRS.has(key) && value !== undefined && value !== null) attrs[key] = value;
  }
  return {
    displayName: resource['displayName'] as string,
    externalId: typeof resource['externalId'] === 'string' ? resource['externalId'] : null,
    attrs,
    ...groupExtensionFromSCIM(resource, absentExtension),
  };
}

/** The member ids of a canonical SCIM Group. */
export function memberIds(resource: SCIMResource): string[] {
  const members = resource['members'];
  if (!Array.isArray(members)) return [];
  return members.map((m: { value: string }) => m.value);
}
