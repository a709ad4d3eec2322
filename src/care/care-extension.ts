import type { CareRole } from './care-roles.ts';
import { isCareRole } from './care-roles.ts';
import type { LinkStatus } from './entitlements.ts';

/** The URN of the care extension of User; its values live in `users.attrs` under it. */
export const CARE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
export const STAFF_MEMBER_SCHEMA = 'urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember';
export const SITE_SCHEMA = 'urn:ietf:params:scim:schemas:carebridge:2.0:Site';

/** One care role of a user on one site. */
export interface CareRoleGrant {
  site: string;
  role: CareRole;
  programs?: string[];
  defaultProgram?: string;
  disabled?: boolean;
}

/** One assistant link as stored; the entitlement fields are computed on every write. */
export interface AssistantLink {
  recipient: string;
  status: LinkStatus;
  [computed: string]: unknown;
}

/** The care extension object of a user (or an empty one). */
export type CareExtension = Record<string, unknown>;

/** The care extension of `attrs`, or an empty object; never shared with `attrs`. */
export function careOf(attrs: Record<string, unknown>): CareExtension {
  const ext = attrs[CARE_USER_SCHEMA];
  return ext && typeof ext === 'object' && !Array.isArray(ext) ? { ...(ext as CareExtension) } : {};
}

/** The care roles of an extension (well-formed entries only: the schema typed them). */
export function rolesOf(ext: CareExtension): CareRoleGrant[] {
  const roles = ext['roles'];
  if (!Array.isArray(roles)) return [];
  return roles.filter(
    (r): r is CareRoleGrant =>
      !!r && typeof r === 'object' && typeof r.site === 'string' && isCareRole(r.role),
  );
}

/** The roles a user holds across the tenant, disabled sites included. */
export function roleNames(ext: CareExtension): CareRole[] {
  return rolesOf(ext).map((r) => r.role);
}

/** The roles that give power: a role on a site where the user is disabled gives none. */
export function enabledRoleNames(ext: CareExtension): CareRole[] {
  return rolesOf(ext)
    .filter((r) => r.disabled !== true)
    .map((r) => r.role);
}

export function linksOf(ext: CareExtension): AssistantLink[] {
  const links = ext['assistantLinks'];
  if (!Array.isArray(links)) return [];
  return links.filter(
    (l): l is AssistantLink => !!l && typeof l === 'object' && typeof l.recipient === 'string',
  );
}

export function staffMemberIdsOf(ext: CareExtension): string[] {
  const sm = ext['staffMembers'];
  if (!Array.isArray(sm)) return [];
  return sm
    .map((s) => (s && typeof s === 'object' ? (s as { value?: unknown }).value : undefined))
    .filter((v): v is string => typeof v === 'string');
}

export const flag = (ext: CareExtension, name: string): boolean => ext[name] === true;
