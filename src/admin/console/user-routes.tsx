import { type Context, Hono } from 'hono';
import { queryAudit } from '../../audit/audit-history.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import { CARE_USER_SCHEMA, careOf, staffMemberIdsOf } from '../../care/care-extension.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import type { UserInput, UserRecord } from '../../directory/user-record.ts';
import { UUID } from '../../directory/uuid.ts';
import type { Services } from '../../services.ts';
import { LocalLockouts } from '../../sso/local/lockouts.ts';
import { resolveHeader, updateInput } from '../csv/csv-columns.ts';
import {
  CloneUserPage,
  EDIT_FIELDS,
  EditUserPage,
  EraseUserPage,
} from '../pages/user-forms-page.tsx';
import { UserListPage } from '../pages/user-list-page.tsx';
import { type HistoryFilter, UserPage } from '../pages/user-page.tsx';
import { groupList, groupsWithSource, siteCodes, staffMemberChoices } from './console-reads.ts';
import { type ConsoleEnv, consoleContext } from './console-session.ts';
import { listUsers, userListParams } from './user-list-query.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** What an action did, by a fixed code: notices never echo request input. */
const NOTICES: Record<string, string> = {
  deactivated: 'The account is deactivated: its care roles, rule and manual groups are removed.',
  activated: 'The account is active again: rule groups are restored, manual groups are not.',
  unlocked: 'The account is unlocked.',
  password: 'The account must choose a new password at its next local sign-in.',
  saved: 'The changes are saved.',
  cloned: 'This account is the clone.',
  staff: 'The staff members are updated.',
  erased: 'The account is erased.',
};

function inputOf(user: UserRecord): UserInput {
  return {
    userName: user.userName,
    externalId: user.externalId,
    status: user.status,
    attrs: user.attrs,
  };
}

const field = (form: Record<string, unknown>, name: string) =>
  typeof form[name] === 'string' ? (form[name] as string) : '';

function userId(c: Context<ConsoleEnv>): string {
  const id = c.req.param('id') ?? '';
  if (!UUID.test(id)) throw new DirectoryError('notFound', `user ${id} not found`);
  return id;
}

function historyFilter(c: Context<ConsoleEnv>): HistoryFilter {
  const date = (v: string | undefined) => (v && DATE.test(v) ? v : '');
  return {
    start: date(c.req.query('start')),
    end: date(c.req.query('end')),
    type: (c.req.query('type') ?? '').trim().slice(0, 100),
  };
}

/** The console's user list, user page and user actions, mounted at `/admin/users`. */
export function consoleUserRoutes(services: Services) {
  const { directory, registry, db } = services;
  const pool = db.pool;
  const lockouts = new LocalLockouts(pool);
  const app = new Hono<ConsoleEnv>();
  const back = (c: Context<ConsoleEnv>, id: string, done: string) =>
    c.redirect(`/admin/users/${id}?done=${done}`, 303);

  app.get('/', async (c) => {
    const session = c.get('session');
    const p = userListParams(c.req.query());
    const [page, groups, sites] = await Promise.all([
      listUsers(pool, registry, session.tenantId, p),
      groupList(pool, session.tenantId),
      siteCodes(pool, session.tenantId),
    ]);
    return c.html(
      <UserListPage
        p={p}
        total={page.total}
        users={page.users}
        groups={groups.map((g) => ({ id: g.id, name: g.name }))}
        sites={sites}
        userName={session.user.userName}
        csrf={session.csrf}
        notice={NOTICES[c.req.query('done') ?? '']}
      />,
    );
  });

  app.get('/:id', async (c) => {
    const session = c.get('session');
    const user = await directory.users.get(session.tenantId, userId(c));
    const filter = historyFilter(c);
    const show =
      (['all', 'assigned', 'unassigned'] as const).find((s) => s === c.req.query('staff')) ?? 'all';
    const assigned = staffMemberIdsOf(careOf(user.attrs)).filter((s) => UUID.test(s));
    const endDay = filter.end ? new Date(`${filter.end}T00:00:00Z`) : undefined;
    const [groups, staff, history] = await Promise.all([
      groupsWithSource(pool, session.tenantId, user.id),
      staffMemberChoices(pool, session.tenantId, assigned, show),
      queryAudit(pool, {
        tenantId: session.tenantId,
        subjectId: user.id,
        start: filter.start ? new Date(`${filter.start}T00:00:00Z`) : undefined,
        // A bare end date includes that day.
        end: endDay ? new Date(endDay.getTime() + 86_400_000) : undefined,
        types: filter.type ? [filter.type] : undefined,
        startIndex: 1,
        count: 50,
      }),
    ]);
    return c.html(
      <UserPage
        user={user}
        groups={groups}
        staff={staff}
        staffShow={show}
        history={history}
        historyFilter={filter}
        signedIn={session.user.userName}
        csrf={session.csrf}
        notice={NOTICES[c.req.query('done') ?? '']}
      />,
    );
  });

  const status = (to: 'inactive' | 'active', done: string) => async (c: Context<ConsoleEnv>) => {
    const id = userId(c);
    await directory.care.lifecycle.setStatus(consoleContext(c), id, to);
    return back(c, id, done);
  };
  app.post('/:id/deactivate', status('inactive', 'deactivated'));
  app.post('/:id/activate', status('active', 'activated'));

  app.post('/:id/unlock', async (c) => {
    const ctx = consoleContext(c);
    const user = await directory.users.get(ctx.tenantId, userId(c));
    if (user.status === 'locked') await directory.care.lifecycle.setStatus(ctx, user.id, 'active');
    // Else the same refusal as any change to this account: the access rules decide who may.
    else await directory.users.update(ctx, user.id, inputOf);
    const unlocked = await lockouts.unlock(ctx.tenantId, user.id);
    await appendAudit(pool, ctx, {
      subjectType: 'user',
      subjectId: user.id,
      type: 'local.unlocked',
      after: { unlocked },
    });
    return back(c, user.id, 'unlocked');
  });

  app.post('/:id/reset-password', async (c) => {
    const ctx = consoleContext(c);
    const user = await directory.users.get(ctx.tenantId, userId(c));
    // The same refusal as any change to this account: the access rules decide who may.
    await directory.users.update(ctx, user.id, inputOf);
    await lockouts.setMustChangePassword(ctx.tenantId, user.id, true);
    await appendAudit(pool, ctx, {
      subjectType: 'user',
      subjectId: user.id,
      type: 'local.password_change_required',
    });
    return back(c, user.id, 'password');
  });

  app.post('/:id/staff-members', async (c) => {
    const ctx = consoleContext(c);
    const id = userId(c);
    const form = await c.req.parseBody();
    const staffMember = field(form, 'staffMember');
    const assign = field(form, 'assign') === 'true';
    await directory.users.update(ctx, id, (current) => {
      const ext = careOf(current.attrs);
      const ids = staffMemberIdsOf(ext).filter((s) => s !== staffMember);
      if (assign) ids.push(staffMember);
      return {
        ...inputOf(current),
        attrs: {
          ...current.attrs,
          [CARE_USER_SCHEMA]: { ...ext, staffMembers: ids.map((value) => ({ value })) },
        },
      };
    });
    return back(c, id, 'staff');
  });

  const page = (Page: typeof EditUserPage) => async (c: Context<ConsoleEnv>) => {
    const session = c.get('session');
    const user = await directory.users.get(session.tenantId, userId(c));
    return c.html(<Page user={user} signedIn={session.user.userName} csrf={session.csrf} />);
  };
  app.get('/:id/edit', page(EditUserPage));
  app.get('/:id/clone', page(CloneUserPage));
  app.get('/:id/erase', page(EraseUserPage));

  // The edit form is an update row: the CSV importer's columns, a blank field removing the value.
  const editColumns = resolveHeader(
    registry,
    ['match', ...EDIT_FIELDS.map((f) => f.name)],
    'update',
    'userName',
  );
  app.post('/:id/edit', async (c) => {
    const id = userId(c);
    const form = await c.req.parseBody();
    const row = ['', ...EDIT_FIELDS.map((f) => field(form, f.name).trim())];
    await directory.users.update(consoleContext(c), id, (current) =>
      updateInput(registry, editColumns, row, current),
    );
    return back(c, id, 'saved');
  });

  app.post('/:id/clone', async (c) => {
    const form = await c.req.parseBody();
    const clone = await directory.care.cloneUser(consoleContext(c), userId(c), {
      userName: field(form, 'userName').trim(),
    });
    return back(c, clone.id, 'cloned');
  });

  app.post('/:id/erase', async (c) => {
    const session = c.get('session');
    const user = await directory.users.get(session.tenantId, userId(c));
    const form = await c.req.parseBody();
    if (field(form, 'confirm') !== user.userName) {
      return c.html(
        <EraseUserPage
          user={user}
          signedIn={session.user.userName}
          csrf={session.csrf}
          error="The username typed does not match: nothing was erased."
        />,
        400,
      );
    }
    await directory.care.lifecycle.erase(consoleContext(c), user.id);
    return c.redirect('/admin/users?done=erased', 303);
  });
  return app;
}
