import { Migration } from '@mikro-orm/migrations';

/**
 * CSV import runs: what the console's progress view and `GET /admin/v1/imports/:id` read
 * while a run goes on and after it ends. A run is `running` until it ends `done` or
 * `failed`; one whose process stopped keeps `running` with a `heartbeat_at` that no longer
 * moves, which readers show as interrupted (import-runs.ts).
 */
export class Migration0005ImportRuns extends Migration {
  override name = '0005-import-runs';

  override up(): void {
    this.addSql(`
      create table import_runs (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        actor_type text not null,
        actor_id text,
        mode text not null,
        match_on text,
        file_name text,
        file_bytes bigint,
        status text not null default 'running',
        bytes bigint not null default 0,
        rows integer not null default 0,
        created integer not null default 0,
        updated integer not null default 0,
        unchanged integer not null default 0,
        failed integer not null default 0,
        invited integer not null default 0,
        failures jsonb not null default '[]'::jsonb,
        failures_truncated boolean not null default false,
        stopped text,
        error text,
        started_at timestamptz not null default now(),
        heartbeat_at timestamptz not null default now(),
        finished_at timestamptz
      )`);
    this.addSql('create index import_runs_tenant_ix on import_runs (tenant_id, started_at desc)');
  }
}
