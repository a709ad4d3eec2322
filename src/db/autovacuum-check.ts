import type { Queryable } from './sql.ts';

/** The tables every provisioning call writes: their plans and sizes depend on autovacuum. */
const BUSY_TABLES = ['users', 'group_members', 'groups', 'audit_events', 'change_events'];

/**
 * What keeps PostgreSQL from maintaining carebridge's tables itself: autovacuum (or the
 * statistics it runs on) off for the server, or off for one of the busy tables. Without
 * it, statistics go stale as a tenant grows (plans the size of an empty table) and dead
 * rows and the GIN pending list pile up. Empty when nothing is off.
 */
export async function autovacuumGaps(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{
    autovacuum: string;
    track_counts: string;
    disabled: string[] | null;
  }>(
    `select current_setting('autovacuum') as autovacuum,
            current_setting('track_counts') as track_counts,
            (select array_agg(c.relname::text order by c.relname)
             from pg_class c
             where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
               and c.relname = any($1::text[])
               and exists (select 1 from unnest(c.reloptions) o
                           where o ~* '^autovacuum_enabled=(false|off|no|0|f|n)$')) as disabled`,
    [BUSY_TABLES],
  );
  const row = rows[0];
  const gaps: string[] = [];
  if (row?.autovacuum !== 'on') gaps.push('autovacuum is off on the server');
  if (row?.track_counts !== 'on') gaps.push('track_counts is off on the server');
  for (const table of row?.disabled ?? []) gaps.push(`autovacuum is disabled on table ${table}`);
  return gaps;
}
