import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { DirectoryError } from './directory-error.ts';

export interface TenantRecord {
  id: string;
  name: string;
  settings: Record<string, unknown>;
}

export const DEFAULT_TENANT = 'default';
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
    const inserted = await this.pool.query<TenantRecord>(
      `insert into tenants (id, name) values ($1, $2)
       on conflict ((lower(name))) do nothing
       returning id, name, settings`,
      [uuidv7(), name],
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
