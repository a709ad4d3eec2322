import { Migration } from '@mikro-orm/migrations';

/**
 * The care directory: sites (centres of care, with programs beneath them) and staff
 * members in their own tables; the care extension of a user lives in `users.attrs` under
 * its URN (docs/storage.md says why), so this adds the indexes its admin lists need.
 */
export class Migration0004Care extends Migration {
  override name = '0004-care';

  override up(): void {
    // A site or a program (kind), a tree through parent_id. SCIM attributes other than
    // id/externalId/displayName/meta live in attrs, like users; `code` is what roles and
    // staff members refer to, unique per tenant and immutable.
    this.addSql(`
      create table sites (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        parent_id uuid references sites (id),
        display_name text not null,
        external_id text,
        attrs jsonb not null default '{}'::jsonb,
        version integer not null default 1,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    this.addSql(`create unique index sites_code_uq on sites (tenant_id, lower(attrs->>'code'))`);
    this.addSql('create index sites_tenant_id_ix on sites (tenant_id, id)');
    this.addSql('create index sites_parent_ix on sites (parent_id) where parent_id is not null');
    this.addSql('create index sites_display_name_ix on sites (tenant_id, lower(display_name))');
    this.addSql('create index sites_attrs_gin on sites using gin (attrs jsonb_path_ops)');

    // A staff member exists with or without users; users point at it from
    // users.attrs (care extension `staffMembers`), found through users_attrs_gin.
    this.addSql(`
      create table staff_members (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        display_name text not null,
        external_id text,
        attrs jsonb not null default '{}'::jsonb,
        version integer not null default 1,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`);
    this.addSql('create index staff_members_tenant_id_ix on staff_members (tenant_id, id)');
    this.addSql(
      'create index staff_members_display_name_ix on staff_members (tenant_id, lower(display_name))',
    );
    this.addSql(
      'create index staff_members_external_id_ix on staff_members (tenant_id, external_id) where external_id is not null',
    );
    this.addSql(
      'create index staff_members_attrs_gin on staff_members using gin (attrs jsonb_path_ops)',
    );

    // The audit history filters by staff member and by event type.
    this.addSql('alter table audit_events add column staff_member_id uuid');
    this.addSql(
      'create index audit_events_staff_member_ix on audit_events (tenant_id, staff_member_id, at) where staff_member_id is not null',
    );
    this.addSql('create index audit_events_type_ix on audit_events (tenant_id, type, at)');
    this.addSql('create index audit_events_actor_ix on audit_events (tenant_id, actor_id, at)');

    // Tokens a deactivated user created are suspended; reactivation finds them again.
    this.addSql(
      'create index api_tokens_created_by_ix on api_tokens (created_by) where created_by is not null',
    );
    // Erasure (GDPR) leaves the row, pseudonymous, in the user bank; it cannot be restored.
    this.addSql('alter table users add column erased_at timestamptz');
    // The "by status" and "sorted by last authenticated" admin lists of the care extension.
    this.addSql(
      `create index users_care_status_ix on users (tenant_id, (attrs->'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User'->>'status'))`,
    );
    this.addSql(
      `create index users_care_last_auth_ix on users (tenant_id, (attrs->'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User'->>'lastAuthenticated'))`,
    );
  }
}
