import { Migration } from '@mikro-orm/migrations';

/**
 * Group auto-assignment rules (issue 4): the rule on a group, compiled once to SQL so
 * every write of a user can re-evaluate all the tenant's rules in one statement; the
 * grants a group gives its members; the per-tenant rule generation that tells each
 * process when its compiled rule set is stale; and the system group All Users of every
 * tenant, filled with the tenant's active users.
 */
export class Migration0002GroupRules extends Migration {
  override name = '0002-group-rules';

  override up(): void {
    // `rule` is the SCIM filter as written; `rule_sql` its translation, a boolean
    // expression over `users u` whose parameters ($1…$n) are `rule_params`.
    this.addSql('alter table groups add column rule text');
    this.addSql('alter table groups add column rule_sql text');
    this.addSql('alter table groups add column rule_params jsonb');
    this.addSql(`alter table groups add column grants jsonb not null default '[]'::jsonb`);
    this.addSql(`
      alter table groups add constraint groups_rule_ck
        check ((rule is null) = (rule_sql is null) and (rule is null) = (rule_params is null))`);
    this.addSql('create index groups_rule_ix on groups (tenant_id, id) where rule is not null');
    this.addSql(
      `create unique index groups_system_uq on groups (tenant_id, lower(display_name)) where kind = 'system'`,
    );
    // Bumped by every change of the tenant's rule set (under the tenant's rule lock).
    this.addSql('alter table tenants add column rule_generation bigint not null default 0');
    // Rule and system memberships of a group, for the set-based re-evaluation of a rule.
    this.addSql(
      `create index group_members_source_ix on group_members (group_id, source, user_id) where source <> 'manual'`,
    );

    this.addSql(`
      insert into groups (id, tenant_id, display_name, external_id, kind, attrs, version, created_at, updated_at)
      select gen_random_uuid(), t.id, 'All Users', null, 'system', '{}'::jsonb, 1, now(), now()
      from tenants t
      where not exists (select 1 from groups g where g.tenant_id = t.id and g.kind = 'system')`);
    this.addSql(`
      insert into group_members (tenant_id, group_id, user_id, source)
      select g.tenant_id, g.id, u.id, 'system'
      from groups g join users u on u.tenant_id = g.tenant_id and u.status = 'active'
      where g.kind = 'system'
      on conflict do nothing`);
  }
}
