import type { Queryable } from '../../db/sql.ts';

/** A group of a user with the sources of the membership (manual, rule, system). */
export interface GroupWithSource {
  id: string;
  name: string;
  sources: string[];
  rule: string | null;
}

/** The reads the console pages show beside the directory's own: one query each, bounded. */
export async function groupsWithSource(
  db: Queryable,
  tenantId: string,
  userId: string,
): Promise<GroupWithSource[]> {
  const { rows } = await db.query<GroupWithSource>(
    `select g.id, g.display_name as name, g.rule, array_agg(gm.source order by gm.source) as sources
     from group_members gm join groups g on g.id = gm.group_id
     where gm.tenant_id = $1 and gm.user_id = $2
     group by g.id, g.display_name, g.rule order by lower(g.display_name), g.id`,
    [tenantId, userId],
  );
  return rows;
}

/** The tenant's groups (at most 500) by name, with how many members each has. */
export async function groupList(
  db: Queryable,
  tenantId: string,
): Promise<{ id: string; name: string; rule: string | null; kind: string; members: number }[]> {
  const { rows } = await db.query<{
    id: string;
    name: string;
    rule: string | null;
    kind: string;
    members: number;
  }>(
    `select g.id, g.display_name as name, g.rule, g.kind,
            (select count(distinct gm.user_id)::int from group_members gm where gm.group_id = g.id) as members
     from groups g where g.tenant_id = $1 order by lower(g.display_name), g.id limit 500`,
    [tenantId],
  );
  return rows;
}

/** Site codes of the tenant (at most 500), for the "by site" filter. */
export async function siteCodes(db: Queryable, tenantId: string): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>(
    `select attrs->>'code' as code from sites
     where tenant_id = $1 and attrs->>'code' is not null order by lower(attrs->>'code') limit 500`,
    [tenantId],
  );
  return rows.map((r) => r.code);
}

/** Staff members of the tenant (at most 200 by name), filtered against a user's assignments. */
export async function staffMemberChoices(
  db: Queryable,
  tenantId: string,
  assigned: string[],
  show: 'all' | 'assigned' | 'unassigned',
): Promise<{ id: string; name: string; assigned: boolean }[]> {
  const { rows } = await db.query<{ id: string; name: string; assigned: boolean }>(
    `select id, display_name as name, id = any($2::uuid[]) as assigned from staff_members
     where tenant_id = $1
       and ($3 = 'all' or ($3 = 'assigned') = (id = any($2::uuid[])))
     order by lower(display_name), id limit 200`,
    [tenantId, assigned, show],
  );
  return rows;
}
