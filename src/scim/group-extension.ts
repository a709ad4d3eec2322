import type { GroupGrant, GroupMember, GroupRecord } from '../directory/group-record.ts';
import type { SCIMResource } from './representation.ts';

/** The carebridge extension of Group (scim-schemas/schemas/carebridge-group.json). */
export const CARE_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';

/**
 * The extension as a group shows it: its rule, its grants, its kind and, when members are
 * shown, each member's sources. Left out for a plain group of manual members only, so
 * groups that use none of it read exactly as RFC 7643 §4.2 groups.
 */
export function groupExtensionToSCIM(
  group: GroupRecord,
  members: GroupMember[] | undefined,
): SCIMResource | undefined {
  const automatic = members?.some((m) => m.sources.some((s) => s !== 'manual')) ?? false;
  if (group.rule === null && group.grants.length === 0 && group.kind === 'regular' && !automatic) {
    return undefined;
  }
  const ext: SCIMResource = {};
  if (group.rule !== null) ext['rule'] = group.rule;
  if (group.grants.length > 0) ext['grants'] = group.grants;
  ext['kind'] = group.kind;
  if (members && members.length > 0) {
    ext['memberSources'] = members.map((m) => ({ value: m.value, sources: m.sources }));
  }
  return ext;
}

/**
 * The rule and grants a canonical SCIM Group asks for. When the extension is absent, PUT
 * keeps them (`'keep'`: a provisioning client that does not know the extension must not
 * wipe a rule by replacing the group), while PATCH, which starts from the stored group,
 * means it was removed (`'clear'`).
 */
export function groupExtensionFromSCIM(
  resource: SCIMResource,
  absent: 'keep' | 'clear',
): { rule?: string | null; grants?: GroupGrant[] } {
  const ext = resource[CARE_GROUP_SCHEMA];
  if (ext === undefined || ext === null || typeof ext !== 'object') {
    return absent === 'keep' ? {} : { rule: null, grants: [] };
  }
  const { rule, grants } = ext as { rule?: unknown; grants?: unknown };
  return {
    rule: typeof rule === 'string' ? rule : null,
    grants: Array.isArray(grants)
      ? grants.map((g: { type: GroupGrant['type']; value: string; site?: string }) =>
          g.site === undefined || g.site === null
            ? { type: g.type, value: g.value }
            : { type: g.type, value: g.value, site: g.site },
        )
      : [],
  };
}
