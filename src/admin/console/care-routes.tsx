import { type Context, Hono } from 'hono';
import { type CareRow, careRecordFromRow } from '../../care/care-record.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import { UUID } from '../../directory/uuid.ts';
import { buildListQuery } from '../../scim/list-query.ts';
import type { Services } from '../../services.ts';
import { type CareKind, CareListPage, CarePage } from '../pages/care-pages.tsx';
import type { ConsoleEnv } from './console-session.ts';

const TYPES = { 'staff-members': 'StaffMember', sites: 'Site' } as const;

/** The console's staff member and site lists and pages (read-only), mounted per kind. */
export function consoleCareRoutes(services: Services, kind: CareKind) {
  const { directory, registry, db } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const session = c.get('session');
    const q = (c.req.query('q') ?? '').trim().slice(0, 200);
    const pageNo = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
    const query = buildListQuery({
      registry,
      resourceType: TYPES[kind],
      tenantId: session.tenantId,
      filter: q ? `displayName co ${JSON.stringify(q)}` : undefined,
      sortBy: 'displayName',
      startIndex: (pageNo - 1) * 50 + 1,
      count: 50,
      maxPageSize: 50,
      withTotal: true,
    });
    const { rows } = query.rows
      ? await db.pool.query<CareRow & { scim_total?: unknown }>(query.rows.sql, query.rows.params)
      : { rows: [] };
    let total = query.totalFrom(rows);
    if (total === undefined) {
      const counted = await db.pool.query<{ total: string }>(query.total.sql, query.total.params);
      total = Number(counted.rows[0]?.total ?? 0);
    }
    return c.html(
      <CareListPage
        kind={kind}
        q={q}
        page={pageNo}
        total={total}
        records={rows.map(careRecordFromRow)}
        signedIn={session.user.userName}
        csrf={session.csrf}
      />,
    );
  });

  app.get('/:id', async (c: Context<ConsoleEnv>) => {
    const session = c.get('session');
    const id = c.req.param('id') ?? '';
    if (!UUID.test(id)) throw new DirectoryError('notFound', `${id} not found`);
    const care = directory.care;
    const record =
      kind === 'sites'
        ? await care.sites.get(session.tenantId, id)
        : await care.staffMembers.get(session.tenantId, id);
    const users =
      kind === 'staff-members'
        ? (await care.staffMembers.usersOf(session.tenantId, [id])).get(id)
        : undefined;
    return c.html(
      <CarePage
        kind={kind}
        record={record}
        users={users}
        signedIn={session.user.userName}
        csrf={session.csrf}
      />,
    );
  });
  return app;
}
