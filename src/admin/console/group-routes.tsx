import { Hono } from 'hono';
import { DirectoryError } from '../../directory/directory-error.ts';
import { UUID } from '../../directory/uuid.ts';
import type { Services } from '../../services.ts';
import { GroupListPage, GroupPage } from '../pages/groups-page.tsx';
import { groupList } from './console-reads.ts';
import type { ConsoleEnv } from './console-session.ts';

/** The console's groups: the list, and a group with its rule and a preview of what a rule matches. */
export function consoleGroupRoutes(services: Services) {
  const { directory, db } = services;
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const session = c.get('session');
    const groups = await groupList(db.pool, session.tenantId);
    return c.html(
      <GroupListPage groups={groups} signedIn={session.user.userName} csrf={session.csrf} />,
    );
  });

  app.get('/:id', async (c) => {
    const session = c.get('session');
    const id = c.req.param('id');
    if (!UUID.test(id)) throw new DirectoryError('notFound', `group ${id} not found`);
    const group = await directory.groups.get(session.tenantId, id);
    const rule = (c.req.query('rule') ?? group.rule ?? '').trim();
    let preview: Awaited<ReturnType<typeof directory.groups.rules.preview>> | undefined;
    let error: string | undefined;
    if (rule) {
      try {
        preview = await directory.groups.rules.preview(session.tenantId, rule, {
          offset: 0,
          limit: 50,
        });
      } catch (err) {
        if (!(err instanceof DirectoryError)) throw err;
        error = err.message;
      }
    }
    return c.html(
      <GroupPage
        group={group}
        rule={rule}
        preview={preview}
        error={error}
        signedIn={session.user.userName}
        csrf={session.csrf}
      />,
      error ? 400 : 200,
    );
  });
  return app;
}
