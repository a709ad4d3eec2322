import { parseArgs } from 'node:util';
import type { DirectoryContext } from '../directory/actor.ts';
import type { Services } from '../services.ts';
import { findUser } from './user-commands.ts';

export const CARE_USAGE = `  npm run cli -- users clone --tenant NAME USERNAME NEW_USERNAME [--password-env VARIABLE]
  npm run cli -- staff-members list --tenant NAME
  npm run cli -- staff-members clone --tenant NAME STAFF_MEMBER_ID DISPLAY_NAME
  npm run cli -- sites list --tenant NAME
  npm run cli -- sites clone --tenant NAME SITE_ID CODE DISPLAY_NAME`;

export class CareUsageError extends Error {}

/** Most rows a `list` prints: a script that needs more reads them through SCIM, paged. */
const LIST_LIMIT = 1_000;

/**
 * The cloning and listing of the admin console for scripts (issue 6: "the CLI covers the
 * same operations"), through the care directory with the CLI as actor, so the clone is
 * audited and checked as one made in the console. A clone's password is never an argument
 * (arguments show in `ps` and shell history): `--password-env` names the variable that
 * holds it; without it the clone has none and signs in through SSO until one is set.
 */
export async function runCareCommand(
  services: Services,
  noun: 'users' | 'staff-members' | 'sites',
  argv: string[],
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, 'password-env': { type: 'string' } },
  });
  const [verb, ...args] = positionals;
  if (!verb || !values.tenant) throw new CareUsageError(`usage:\n${CARE_USAGE}`);
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new CareUsageError(`no tenant ${values.tenant}`);
  const ctx: DirectoryContext = {
    tenantId: tenant.id,
    actor: { type: 'cli', id: null },
    requestId: null,
  };
  const { care } = services.directory;
  const pool = services.db.pool;

  if (noun === 'users' && verb === 'clone' && args.length === 2) {
    const [from, userName] = args as [string, string];
    const source = await findUser(services, tenant.id, from, values.tenant);
    const variable = values['password-env'];
    const password = variable === undefined ? undefined : process.env[variable];
    if (variable !== undefined && !password) {
      throw new CareUsageError(`--password-env ${variable}: the variable is not set`);
    }
    const clone = await care.cloneUser(ctx, source.id, { userName, password });
    console.log(`cloned ${from} as ${clone.userName} (${clone.id})`);
  } else if (noun === 'staff-members' && verb === 'list' && args.length === 0) {
    const { rows } = await pool.query<{ id: string; display_name: string }>(
      `select id, display_name from staff_members where tenant_id = $1
       order by lower(display_name), id limit ${LIST_LIMIT}`,
      [tenant.id],
    );
    for (const r of rows) console.log(`${r.id}\t${r.display_name}`);
  } else if (noun === 'staff-members' && verb === 'clone' && args.length === 2) {
    const [id, displayName] = args as [string, string];
    const clone = await care.staffMembers.clone(ctx, id, displayName);
    console.log(`cloned staff member ${id} as ${clone.displayName} (${clone.id})`);
  } else if (noun === 'sites' && verb === 'list' && args.length === 0) {
    const { rows } = await pool.query<{ id: string; code: string | null; display_name: string }>(
      `select id, attrs->>'code' as code, display_name from sites where tenant_id = $1
       order by lower(display_name), id limit ${LIST_LIMIT}`,
      [tenant.id],
    );
    for (const r of rows) console.log(`${r.id}\t${r.code ?? ''}\t${r.display_name}`);
  } else if (noun === 'sites' && verb === 'clone' && args.length === 3) {
    const [id, code, displayName] = args as [string, string, string];
    const clone = await care.sites.clone(ctx, id, { code, displayName });
    console.log(`cloned site ${id} as ${code} ${clone.displayName} (${clone.id})`);
  } else {
    throw new CareUsageError(`usage:\n${CARE_USAGE}`);
  }
}
