import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { primaryEmail } from '../../src/directory/user-record.ts';

/** Rows written with plain SQL, so list-query tests do not depend on the directory service. */
export async function insertTenant(pool: pg.Pool, name: string): Promise<string> {
  const id = randomUUID();
  await pool.query('insert into tenants (id, name) values ($1, $2)', [id, name]);
  return id;
}

export interface UserRowInput {
  userName: string;
  externalId?: string | null;
  status?: 'pending' | 'active' | 'inactive' | 'locked' | 'deleted';
  attrs?: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
}

export async function insertUser(
  pool: pg.Pool,
  tenantId: string,
  user: UserRowInput,
): Promise<string> {
  const id = randomUUID();
  const attrs = user.attrs ?? {};
  const created = user.createdAt ?? new Date().toISOString();
  await pool.query(
    `insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      id,
      tenantId,
      user.userName,
      user.externalId ?? null,
      user.status ?? 'active',
      primaryEmail(attrs),
      attrs,
      created,
      user.updatedAt ?? created,
    ],
  );
  return id;
}

export interface GroupRowInput {
  displayName: string;
  externalId?: string | null;
  attrs?: Record<string, unknown>;
  members?: string[];
}

export async function insertGroup(
  pool: pg.Pool,
  tenantId: string,
  group: GroupRowInput,
): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await pool.query(
    `insert into groups (id, tenant_id, display_name, external_id, attrs, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $6)`,
    [id, tenantId, group.displayName, group.externalId ?? null, group.attrs ?? {}, now],
  );
  if (group.members?.length) {
    await pool.query(
      `insert into group_members (tenant_id, group_id, user_id, source)
       select $1, $2, unnest($3::uuid[]), 'manual'`,
      [tenantId, id, group.members],
    );
  }
  return id;
}
