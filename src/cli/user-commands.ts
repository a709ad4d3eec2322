import { parseArgs } from 'node:util';
import { CARE_USER_SCHEMA, careOf } from '../care/care-extension.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import type { Services } from '../services.ts';

export const USERS_USAGE = `  npm run cli -- users make-main-admin --tenant NAME USERNAME [--system-administrator]`;

export class UsersUsageError extends Error {}

/**
 * `users make-main-admin`: how a new tenant gets its first main administrator (admin
 * access and the right to erase and to appoint others), since only a main administrator
 * may appoint one. `--system-administrator` also makes the account the reserved system
 * administrator nobody can deactivate or erase (seed 002). Through the one write path,
 * audited with the CLI as actor.
 */
export async function runUsersCommand(services: Services, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      'system-administrator': { type: 'boolean', default: false },
    },
  });
  const [verb, userName] = positionals;
  if (verb !== 'make-main-admin' || !userName || !values.tenant) {
    throw new UsersUsageError(`usage:\n${USERS_USAGE}`);
  }
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new UsersUsageError(`no tenant ${values.tenant}`);
  const { rows } = await services.db.pool.query<{ id: string; user_name: string }>(
    `select id, user_name from users where tenant_id = $1 and lower(user_name) = lower($2) and status <> 'deleted'`,
    [tenant.id, userName],
  );
  const id = rows[0]?.id;
  const stored = rows[0]?.user_name;
  if (!id) throw new UsersUsageError(`no user ${userName} in tenant ${values.tenant}`);
  const ctx: DirectoryContext = {
    tenantId: tenant.id,
    actor: { type: 'cli', id: null },
    requestId: null,
  };
  const { changed } = await services.directory.users.update(
    ctx,
    id,
    (current) => ({
      userName: current.userName,
      externalId: current.externalId,
      status: current.status,
      attrs: {
        ...current.attrs,
        [CARE_USER_SCHEMA]: {
          ...careOf(current.attrs),
          adminAccess: true,
          mainAdministrator: true,
          ...(values['system-administrator'] ? { systemAdministrator: true } : {}),
        },
      },
    }),
    { auditType: 'user.made_main_administrator' },
  );
  console.log(
    `${stored} is a main administrator${values['system-administrator'] ? ' and the reserved system administrator' : ''}${changed ? '' : ' (already)'}`,
  );
}
