import { Migration } from '@mikro-orm/migrations';

/**
 * The SSO bridge: connections per tenant, the IdP identities linked to accounts, sign-in
 * state (in the database, so any instance finishes a flow another started), SAML replay
 * protection, and local sign-in lockout counters.
 */
export class Migration0003Sso extends Migration {
  override name = '0003-sso';

  override up(): void {
    // `slug` is the `:connection` of every /sso URL, so it is unique across tenants.
    this.addSql(`
      create table sso_connections (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        slug text not null,
        protocol text not null,
        display_name text not null,
        settings jsonb not null default '{}'::jsonb,
        jit boolean not null default true,
        linking text not null default 'identity',
        idp_initiated boolean not null default false,
        default_groups uuid[] not null default '{}',
        allowed_return_urls text[] not null default '{}',
        enabled boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        constraint sso_connections_protocol_ck check (protocol in ('oidc', 'saml')),
        constraint sso_connections_linking_ck check (linking in ('identity', 'verified_email'))
      )`);
    this.addSql('create unique index sso_connections_slug_uq on sso_connections (lower(slug))');
    this.addSql('create index sso_connections_tenant_ix on sso_connections (tenant_id, slug)');

    this.addSql(`
      create table sso_identities (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        connection_id uuid not null references sso_connections (id) on delete cascade,
        issuer text not null,
        subject text not null,
        user_id uuid not null references users (id),
        created_at timestamptz not null default now(),
        last_authenticated_at timestamptz
      )`);
    this.addSql(
      'create unique index sso_identities_subject_uq on sso_identities (tenant_id, connection_id, issuer, subject)',
    );
    this.addSql('create index sso_identities_user_ix on sso_identities (user_id)');

    // One row per sign-in in flight; `id` is the SHA-256 of the state the browser carries.
    this.addSql(`
      create table sso_signin_states (
        id text primary key,
        tenant_id uuid not null references tenants (id),
        connection_id uuid references sso_connections (id) on delete cascade,
        kind text not null,
        browser_hash text not null,
        nonce text,
        code_verifier text,
        saml_request_id text,
        return_url text not null,
        payload jsonb,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        -- password_change: local sign-in, no connection; every other kind has one.
        constraint sso_signin_states_kind_ck
          check (kind in ('oidc', 'saml', 'first_login', 'password_change')),
        constraint sso_signin_states_connection_ck
          check ((kind = 'password_change') = (connection_id is null))
      )`);
    this.addSql(
      `create unique index sso_signin_states_saml_request_uq on sso_signin_states (connection_id, saml_request_id)
         where saml_request_id is not null`,
    );
    this.addSql('create index sso_signin_states_expires_ix on sso_signin_states (expires_at)');

    this.addSql(`
      create table saml_assertions_seen (
        connection_id uuid not null references sso_connections (id) on delete cascade,
        assertion_id text not null,
        expires_at timestamptz not null,
        primary key (connection_id, assertion_id)
      )`);
    this.addSql(
      'create index saml_assertions_seen_expires_ix on saml_assertions_seen (expires_at)',
    );

    this.addSql(`
      create table local_signin_lockouts (
        tenant_id uuid not null references tenants (id),
        user_id uuid not null references users (id),
        failed_count integer not null default 0,
        last_failed_at timestamptz,
        locked_until timestamptz,
        must_change_password boolean not null default false,
        primary key (tenant_id, user_id)
      )`);
    this.addSql(
      'create index local_signin_lockouts_locked_ix on local_signin_lockouts (tenant_id, locked_until) where locked_until is not null',
    );
  }
}
