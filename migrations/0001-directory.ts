import { Migration } from '@mikro-orm/migrations';

/**
 * The directory: tenants, users, groups and memberships, API tokens and signing keys,
 * the audit trail and the change outbox. Written by hand because its partial unique
 * indexes, expression indexes and GIN indexes are the point of it.
 */
export class Migration0001Directory extends Migration {
  override name = '0001-directory';

  override up(): void {
    this.addSql(`
      create table tenants (
        id uuid primary key,
        name text not null,
        settings jsonb not null default '{}'::jsonb,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create unique index tenants_name_uq on tenants (lower(name))');

    this.addSql(`
      create table users (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        user_name text not null,
        external_id text,
        status text not null default 'active',
        primary_email text,
        attrs jsonb not null default '{}'::jsonb,
        password_hash text,
        version integer not null default 1,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        deleted_at timestamptz,
        constraint users_status_ck
          check (status in ('pending', 'active', 'inactive', 'locked', 'deleted'))
      )`);
    // A deleted user (the user bank) frees its userName and email for a new account.
    this.addSql(
      `create unique index users_user_name_uq on users (tenant_id, lower(user_name)) where status <> 'deleted'`,
    );
    this.addSql(
      `create unique index users_primary_email_uq on users (tenant_id, lower(primary_email))
         where status <> 'deleted' and primary_email is not null`,
    );
    this.addSql(
      'create index users_external_id_ix on users (tenant_id, external_id) where external_id is not null',
    );
    this.addSql('create index users_tenant_id_ix on users (tenant_id, id)');
    this.addSql('create index users_created_ix on users (tenant_id, created_at, id)');
    this.addSql('create index users_updated_ix on users (tenant_id, updated_at, id)');
    this.addSql('create index users_attrs_gin on users using gin (attrs jsonb_path_ops)');

    this.addSql(`
      create table groups (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        display_name text not null,
        external_id text,
        kind text not null default 'regular',
        attrs jsonb not null default '{}'::jsonb,
        version integer not null default 1,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        constraint groups_kind_ck check (kind in ('regular', 'system'))
      )`);
    this.addSql('create index groups_tenant_id_ix on groups (tenant_id, id)');
    this.addSql('create index groups_display_name_ix on groups (tenant_id, lower(display_name))');
    this.addSql(
      'create index groups_external_id_ix on groups (tenant_id, external_id) where external_id is not null',
    );
    this.addSql('create index groups_updated_ix on groups (tenant_id, updated_at, id)');

    // One row per (group, user, source): a user may be a member both by hand and by rule.
    this.addSql(`
      create table group_members (
        tenant_id uuid not null,
        group_id uuid not null references groups (id) on delete cascade,
        user_id uuid not null references users (id),
        source text not null,
        created_at timestamptz not null default now(),
        primary key (group_id, user_id, source),
        constraint group_members_source_ck check (source in ('manual', 'rule', 'system'))
      )`);
    this.addSql('create index group_members_user_ix on group_members (user_id, group_id)');

    this.addSql(`
      create table api_tokens (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        name text not null,
        scopes text[] not null,
        created_by uuid references users (id),
        subject_user_id uuid references users (id),
        client_id text,
        created_at timestamptz not null default now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        suspended_at timestamptz
      )`);
    this.addSql('create index api_tokens_tenant_ix on api_tokens (tenant_id, created_at)');

    this.addSql(`
      create table oauth_clients (
        client_id text primary key,
        tenant_id uuid not null references tenants (id),
        name text not null,
        secret_hash text not null,
        scopes text[] not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz
      )`);

    this.addSql(`
      create table signing_keys (
        kid text primary key,
        alg text not null,
        public_jwk jsonb not null,
        private_jwk jsonb not null,
        created_at timestamptz not null default now(),
        retired_at timestamptz
      )`);

    this.addSql(`
      create table audit_events (
        id bigint generated always as identity primary key,
        tenant_id uuid not null,
        at timestamptz not null default now(),
        actor_type text not null,
        actor_id text,
        subject_type text not null,
        subject_id uuid,
        type text not null,
        before jsonb,
        after jsonb,
        request_id text
      )`);
    this.addSql('create index audit_events_subject_ix on audit_events (tenant_id, subject_id, at)');
    this.addSql('create index audit_events_at_ix on audit_events (tenant_id, at)');

    this.addSql(`
      create table change_events (
        id bigint generated always as identity primary key,
        tenant_id uuid not null,
        resource_type text not null,
        resource_id uuid not null,
        operation text not null,
        version integer,
        at timestamptz not null default now()
      )`);
    this.addSql('create index change_events_tenant_ix on change_events (tenant_id, id)');
  }
}
