import { parseArgs } from 'node:util';
import { CARE_USER_SCHEMA, careOf } from '../care/care-extension.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import type { Services } from '../services.ts';

export const USERS_USAGE = `  npm run cli -- users make-main-admin --tenant NAME USERNAME [--system-administrator]
  npm run cli -- users deactivate|reactivate|lock|unlock --tenant NAME USERNAME
  npm run cli -- users restore --tenant NAME USER_ID
  npm run cli -- users erase --tenant NAME USERNAME --yes`;

export class UsersUsageError extends Error {}

const STATUS_OF = {
  deactivate: 'inactive',
  reactivate: 'active',
  lock: 'locked',
  unlock: 'active',
} as const;

type StatusVerb = keyof typeof STATUS_OF;
const isStatusVerb = (verb: string): verb is StatusVerb => verb in STATUS_OF;

/**
 * `users …`: the account actions of the admin console for scripts, through the one write
 * path with the CLI as actor (audited as such). `make-main-admin` is how a new tenant gets
 * its first main administrator, since only a main administrator may appoint one;
 * `--system-administrator` also reserves the account as the system administrator nobody
 * can deactivate or erase (seed 002). `erase` is irreversible and asks for `--yes`.
 */
export async function runUsersCommand(services: Services, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      'system-administrator': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
  });
  const [verb, who] = positionals;
  if (!verb || !who || !values.tenant) throw new UsersUsageError(`usage:\n${USERS_USAGE}`);
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new UsersUsageError(`no tenant ${values.tenant}`);
  const ctx: DirectoryContext = {
    tenantId: tenant.id,
    actor: { type: 'cli', id: null },
    requestId: null,
  };
  const { lifecycle } = services.directory.care;

  if (verb === 'restore') {
    // A deleted account is in the user bank, where its userName may be taken again: by id.
    await lifecycle.restore(ctx, who);
    console.log(`restored ${who} from the user bank (inactive)`);
    return;
  }
  const user = await findUser(services, tenant.id, who, values.tenant);
  if (verb === 'make-main-admin') {
    await makeMainAdmin(services, ctx, user.id, values['system-administrator']);
    const reserved = values['system-administrator'] ? ' and the reserved system administrator' : '';
    console.log(`${user.userName} is a main administrator${reserved}`);
  } else if (isStatusVerb(verb)) {
    const after = await lifecycle.setStatus(ctx, user.id, STATUS_OF[verb]);
    console.log(`${after.userName} is ${after.status}`);
  } else if (verb === 'erase') {
    if (!values.yes) {
      throw new UsersUsageError(
        `erasing ${user.userName} replaces every personal field with stars and cannot be undone: add --yes`,
      );
    }
    await lifecycle.erase(ctx, user.id);
    console.log(`erased ${user.id}`);
  } else {
    throw new UsersUsageError(`usage:\n${USERS_USAGE}`);
  }
}

/** An account of the tenant by its userName (any case); none is a usage error. */
export async function findUser(
  services: Services,
  tenantId: string,
  userName: string,
  tenantName: string,
): Promise<{ id: string; userName: string }> {
  const { rows } = await services.db.pool.query<{ id: string; user_name: string }>(
    `select id, user_name from users where tenant_id = $1 and lower(user_name) = lower($2) and status <> 'deleted'`,
    [tenantId, userName],
  );
  const row = rows[0];
  if (!row) throw new UsersUsageError(`no user ${userName} in tenant ${tenantName}`);
  return { id: row.id, userName: row.user_name };
}

async function makeMainAdmin(
  services: Services,
  ctx: DirectoryContext,
  id: string,
  systemAdministrator: boolean,
): Promise<void> {
  await services.directory.users.update(
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
          ...(systemAdministrator ? { systemAdministrator: true } : {}),
        },
      },
    }),
    { auditType: 'user.made_main_administrator' },
  );
}
