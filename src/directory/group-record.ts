import { DirectoryError } from './directory-error.ts';

/** A group as the directory stores it; members live in `group_members`, never here. */
export interface GroupRecord {
  id: string;
  tenantId: string;
  displayName: string;
  externalId: string | null;
  kind: 'regular' | 'system';
  attrs: Record<string, unknown>;
  /** The auto-assignment rule, a SCIM filter over users; null when the group has none. */
  rule: string | null;
  /** What membership of the group gives (a "role via group"). */
  grants: GroupGrant[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A role a group gives each of its members while the membership lasts. */
export interface GroupGrant {
  type: 'scimRole' | 'careRole';
  value: string;
  /** The site code of a care role. */
  site?: string;
}

/** What a door asks the directory to store about a group itself. */
export interface GroupInput {
  displayName: string;
  externalId: string | null;
  attrs: Record<string, unknown>;
  /** A new rule (null removes it); undefined keeps the current one. */
  rule?: string | null | undefined;
  /** New grants; undefined keeps the current ones. */
  grants?: GroupGrant[] | undefined;
}

/** Member changes, applied set-based in SQL: a big group is never loaded to change it. */
export interface MemberChanges {
  add: string[];
  /** User ids to remove, or 'all' to remove every manual member. */
  remove: string[] | 'all';
}

/** A member as SCIM shows it: each user once, whatever the sources of its membership. */
export interface GroupMember {
  value: string;
  display: string;
  sources: ('manual' | 'rule' | 'system')[];
}

export interface GroupRow {
  id: string;
  tenant_id: string;
  display_name: string;
  external_id: string | null;
  kind: 'regular' | 'system';
  attrs: Record<string, unknown>;
  rule?: string | null;
  grants?: GroupGrant[];
  version: number;
  created_at: Date;
  updated_at: Date;
}

export function groupFromRow(row: GroupRow): GroupRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    displayName: row.display_name,
    externalId: row.external_id,
    kind: row.kind,
    attrs: row.attrs,
    rule: row.rule ?? null,
    grants: row.grants ?? [],
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The refusals every group write shares, worded once. */
export function groupNotFound(id: string): DirectoryError {
  return new DirectoryError('notFound', `group ${id} not found`);
}

export function systemGroupRefused(group: GroupRecord, what: 'edited' | 'deleted'): DirectoryError {
  return new DirectoryError(
    'mutability',
    `${group.displayName} is a system group and cannot be ${what}`,
  );
}

export function noSuchUsers(ids: string[]): DirectoryError {
  return new DirectoryError('invalidValue', `no such users: ${ids.slice(0, 10).join(', ')}`);
}
