import { CARE_USER_SCHEMA } from '../../care/care-extension.ts';
import type { Queryable } from '../../db/sql.ts';
import { type UserRecord, type UserRow, userFromRow } from '../../directory/user-record.ts';
import { buildListQuery } from '../../scim/list-query.ts';
import { ENTERPRISE_USER_SCHEMA, type SchemaRegistry } from '../../scim/schema-registry.ts';

/** The pre-defined filters of the user list (seed 002, and by site from seed 003). */
export const PRESETS = ['all', 'new', 'locked', 'deactivated', 'role', 'group', 'site'] as const;
export type Preset = (typeof PRESETS)[number];
/** The active/inactive toggle; Locked and Deactivated choose their own status. */
export const STATES = ['active', 'inactive', 'any'] as const;
/** Columns the list filters on (any column of the table). */
export const COLUMNS = {
  userName: 'userName',
  name: 'name',
  email: 'emails.value',
  title: 'title',
  status: `${CARE_USER_SCHEMA}:status`,
  employeeNumber: `${ENTERPRISE_USER_SCHEMA}:employeeNumber`,
  externalId: 'externalId',
} as const;
export type FilterColumn = keyof typeof COLUMNS;
/** The sortable columns (seed 000) and the SCIM attribute each sorts by. */
export const SORTS = {
  userName: 'userName',
  name: 'name.familyName',
  passwordLastChanged: `${CARE_USER_SCHEMA}:passwordLastChanged`,
  lastAuthenticated: `${CARE_USER_SCHEMA}:lastAuthenticated`,
  elevated: `${CARE_USER_SCHEMA}:elevatedAccess`,
  admin: `${CARE_USER_SCHEMA}:adminAccess`,
} as const;
export type SortColumn = keyof typeof SORTS;
export const PAGE_SIZES = [15, 50, 500] as const;

/** What the list's form and links carry, checked: anything unknown falls back to a default. */
export interface UserListParams {
  state: (typeof STATES)[number];
  preset: Preset;
  /** The role, group id or site code of the role, group and site presets. */
  value: string;
  column: FilterColumn;
  q: string;
  sort: SortColumn;
  order: 'asc' | 'desc';
  count: (typeof PAGE_SIZES)[number];
  page: number;
}

const oneOf = <T extends string>(list: readonly T[], v: string | undefined, d: T): T =>
  list.includes(v as T) ? (v as T) : d;

export function userListParams(query: Record<string, string | undefined>): UserListParams {
  const count = Number(query['count']);
  const page = Number(query['page']);
  return {
    state: oneOf(STATES, query['state'], 'active'),
    preset: oneOf(PRESETS, query['preset'], 'all'),
    value: (query['value'] ?? '').slice(0, 200),
    column: oneOf(Object.keys(COLUMNS) as FilterColumn[], query['column'], 'userName'),
    q: (query['q'] ?? '').slice(0, 200),
    sort: oneOf(Object.keys(SORTS) as SortColumn[], query['sort'], 'userName'),
    order: query['order'] === 'desc' ? 'desc' : 'asc',
    count: (PAGE_SIZES as readonly number[]).includes(count)
      ? (count as UserListParams['count'])
      : 15,
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

/** A SCIM string literal: the value JSON-quoted, so no input can end the string early. */
const lit = (value: string) => JSON.stringify(value);

/**
 * The SCIM filter of the list's choices. The console never filters in memory: this
 * filter goes through the SCIM filter-to-SQL translation (src/scim/filter-sql.ts).
 */
export function userListFilter(p: UserListParams, now: Date): string | undefined {
  const parts: string[] = [];
  if (p.preset !== 'locked' && p.preset !== 'deactivated') {
    if (p.state === 'active') parts.push('active eq true');
    if (p.state === 'inactive') parts.push('active eq false');
  }
  const value = p.value.trim();
  switch (p.preset) {
    case 'new':
      parts.push(`meta.created gt ${lit(new Date(now.getTime() - 7 * 86_400_000).toISOString())}`);
      break;
    case 'locked':
      parts.push(`${CARE_USER_SCHEMA}:status eq "locked"`);
      break;
    case 'deactivated':
      parts.push(`${CARE_USER_SCHEMA}:status eq "inactive"`);
      break;
    case 'role':
      if (value) parts.push(`${CARE_USER_SCHEMA}:roles[role eq ${lit(value)}]`);
      break;
    case 'site':
      if (value) parts.push(`${CARE_USER_SCHEMA}:roles[site eq ${lit(value)}]`);
      break;
    case 'group':
      if (value) parts.push(`groups.value eq ${lit(value)}`);
      break;
    default:
      break;
  }
  const q = p.q.trim();
  if (q) {
    parts.push(
      p.column === 'name'
        ? `(name.givenName co ${lit(q)} or name.familyName co ${lit(q)} or displayName co ${lit(q)})`
        : `${COLUMNS[p.column]} co ${lit(q)}`,
    );
  }
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

/** One page of the list: SCIM filter, sort and paging as one SQL statement with its total. */
export async function listUsers(
  db: Queryable,
  registry: SchemaRegistry,
  tenantId: string,
  p: UserListParams,
  now = new Date(),
): Promise<{ total: number; users: UserRecord[] }> {
  const query = buildListQuery({
    registry,
    resourceType: 'User',
    tenantId,
    filter: userListFilter(p, now),
    sortBy: SORTS[p.sort],
    sortOrder: p.order === 'desc' ? 'descending' : 'ascending',
    startIndex: (p.page - 1) * p.count + 1,
    count: p.count,
    maxPageSize: 500,
    withTotal: true,
  });
  if (!query.rows) return { total: 0, users: [] };
  const { rows } = await db.query<UserRow & { scim_total?: unknown }>(
    query.rows.sql,
    query.rows.params,
  );
  let total = query.totalFrom(rows);
  if (total === undefined) {
    const counted = await db.query<{ total: string }>(query.total.sql, query.total.params);
    total = Number(counted.rows[0]?.total ?? 0);
  }
  return { total, users: query.page(rows).resources.map(userFromRow) };
}
