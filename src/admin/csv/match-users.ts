import type { Queryable } from '../../db/sql.ts';
import { type UserRecord, type UserRow, userFromRow } from '../../directory/user-record.ts';
import { ENTERPRISE_USER_SCHEMA } from '../../scim/schema-registry.ts';
import type { MatchField } from './csv-columns.ts';

// One set-based statement per field, each on an index: lower(user_name) and
// lower(primary_email) (unique), (tenant_id, external_id), and the attrs GIN index through
// `@>` for the enterprise employee number. Values are parameters, never SQL text.
const LOOKUP: Record<MatchField, string> = {
  userName: `select u.*, lower(u.user_name) as match_key from users u
             where u.tenant_id = $1 and lower(u.user_name) = any($2::text[]) and u.status <> 'deleted'`,
  email: `select u.*, lower(u.primary_email) as match_key from users u
          where u.tenant_id = $1 and lower(u.primary_email) = any($2::text[]) and u.status <> 'deleted'`,
  externalId: `select u.*, u.external_id as match_key from users u
               where u.tenant_id = $1 and u.external_id = any($2::text[]) and u.status <> 'deleted'`,
  employeeNumber: `select u.*, lower(k.v) as match_key
                   from unnest($2::text[]) as k(v)
                   join users u on u.tenant_id = $1 and u.status <> 'deleted'
                    and u.attrs @> jsonb_build_object('${ENTERPRISE_USER_SCHEMA}', jsonb_build_object('employeeNumber', k.v))`,
};

/**
 * The users of a tenant whose `field` is one of `values`, in one query, keyed by the
 * matched value (lower-cased, except externalId, which SCIM compares case-exactly).
 */
export async function findUsersBy(
  db: Queryable,
  tenantId: string,
  field: MatchField,
  values: string[],
): Promise<Map<string, UserRecord[]>> {
  const keys = [
    ...new Set(values.filter(Boolean).map((v) => (field === 'externalId' ? v : v.toLowerCase()))),
  ];
  const found = new Map<string, UserRecord[]>();
  if (keys.length === 0) return found;
  // The employee number is matched as written; other case-insensitive fields lower-cased.
  const params = field === 'employeeNumber' ? [...new Set(values.filter(Boolean))] : keys;
  const { rows } = await db.query<UserRow & { match_key: string }>(LOOKUP[field], [
    tenantId,
    params,
  ]);
  for (const row of rows) {
    const list = found.get(row.match_key) ?? [];
    if (!list.some((u) => u.id === row.id)) list.push(userFromRow(row));
    found.set(row.match_key, list);
  }
  return found;
}
