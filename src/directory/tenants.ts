import type pg from 'pg';
import { DirectoryError } from './directory-error.ts';
import { newId } from './uuid.ts';

export interface TenantRecord {
  id: string;
  name: string;
  settings: Record<string, unknown>;
}

export const DEFAULT_TENANT = 'default';
/** The system group of every tenant: every active user, kept by the directory alone. */
export const ALL_USERS = 'All Users';
const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/** Tenants: one care organisation each. */
export class Tenants {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates the tenant unless it exists (names are case-insensitive); returns it either way. */
  async ensure(name: string): Promise<{ tenant: TenantRecord; created: boolean }> {
    if (!TENANT_NAME.test(name)) {
      throw new DirectoryError(
        'invalidValue',
        'a tenant name is 1-63 letters, digits, "-" or "_", starting with a letter or digit',
      );
    }
    // A new tenant gets its system group All Users in the same statement.
    const inserted = await this.pool.query<TenantRecord>(
      `with t as (
         insert into tenants (id, name) values ($1, $2)
         on conflict ((lower(name))) do nothing
         returning id, name, settings
       ), g as (
         insert into groups (id, tenant_id, display_name, kind, attrs, version, created_at, updated_at)
         select $3, t.id, $4, 'system', '{}'::jsonb, 1, now(), now() from t
       )
       select * from t`,
      [newId(), name, newId(), ALL_USERS],
    );
    if (inserted.rows[0]) return { tenant: inserted.rows[0], created: true };
    const existing = await this.findByName(name);
    if (!existing) throw new Error(`tenant ${name} vanished while being created`);
    return { tenant: existing, created: false };
  }

  async findByName(name: string): Promise<TenantRecord | undefined> {
    const { rows } = await this.pool.query<TenantRecord>(
      'select id, name, settings from tenants where lower(name) = lower($1)',
      [name],
    );
    return rows[0];
  }
}
