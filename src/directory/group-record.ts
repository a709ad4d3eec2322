/** A group as the directory stores it; members live in `group_members`, never here. */
export interface GroupRecord {
  id: string;
  tenantId: string;
  displayName: string;
  externalId: string | null;
  kind: 'regular' | 'system';
  attrs: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a door asks the directory to store about a group itself. */
export interface GroupInput {
  displayName: string;
  externalId: string | null;
  attrs: Record<string, unknown>;
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
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
