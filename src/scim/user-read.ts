import type pg from 'pg';
import { DirectoryError } from '../directory/directory-error.ts';
import {
  groupsFromColumn,
  USER_GROUPS_COLUMN,
  userGroupsJSON,
} from '../directory/user-groups-sql.ts';
import { type UserRecord, type UserRow, userFromRow } from '../directory/user-record.ts';
import { isResourceId } from '../directory/users.ts';

const BY_ID = `SELECT u.* FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.status <> 'deleted'`;
const BY_ID_WITH_GROUPS = `SELECT u.*, ${userGroupsJSON('u.id')} AS ${USER_GROUPS_COLUMN}
  FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.status <> 'deleted'`;

/**
 * Reads one visible user for `GET /Users/:id`, with its groups in the same round trip
 * when the response shows them (the hot read of every provisioning client).
 */
export async function readUser(
  pool: pg.Pool,
  tenantId: string,
  id: string,
  withGroups: boolean,
): Promise<{ user: UserRecord; groups: ReturnType<typeof groupsFromColumn> }> {
  if (!isResourceId(id)) throw new DirectoryError('notFound', `user ${id} not found`);
  const { rows } = await pool.query<UserRow & { scim_groups?: unknown }>({
    name: withGroups ? 'scim_user_with_groups' : 'scim_user',
    text: withGroups ? BY_ID_WITH_GROUPS : BY_ID,
    values: [tenantId, id],
  });
  const row = rows[0];
  if (!row) throw new DirectoryError('notFound', `user ${id} not found`);
  return {
    user: userFromRow(row),
    groups: withGroups ? groupsFromColumn(row.scim_groups) : undefined,
  };
}
