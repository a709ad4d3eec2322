import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { isScope, type Scope } from '../keys/api-tokens.ts';
import { createServices, type Services } from '../services.ts';
import { CARE_USAGE, CareUsageError, runCareCommand } from './care-commands.ts';
import {
  IMPORT_USAGE,
  IMPORTS_USAGE,
  ImportUsageError,
  runImportCommand,
  runImportsCommand,
} from './import-command.ts';
import { runSsoCommand, SSO_USAGE, SsoUsageError } from './sso-commands.ts';
import { runUsersCommand, USERS_USAGE, UsersUsageError } from './user-commands.ts';

const USAGE = `usage:
  npm run cli -- tenants create NAME
  npm run cli -- tenants list
  npm run token -- --tenant NAME --scope scim [--scope scim:read] [--name TEXT] [--expires-in SECONDS] [--user USER_ID]
  npm run cli -- tokens revoke --tenant NAME ID
  npm run cli -- clients create --tenant NAME --scope scim [--name TEXT]
  npm run cli -- clients revoke --tenant NAME CLIENT_ID
  npm run cli -- keys rotate
${USERS_USAGE}
${CARE_USAGE}
${IMPORT_USAGE}
${IMPORTS_USAGE}
${SSO_USAGE}`;

class UsageError extends Error {}

async function tenantId(services: Services, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('--tenant is required');
  const tenant = await services.directory.tenants.findByName(name);
  if (!tenant)
    throw new UsageError(
      `no tenant ${name}: create it with "npm run cli -- tenants create ${name}"`,
    );
  return tenant.id;
}

function scopes(values: string[] | undefined): Scope[] {
  const list = (values ?? []).flatMap((v) => v.split(/[ ,]+/)).filter(Boolean);
  if (list.length === 0) throw new UsageError('--scope is required');
  const bad = list.filter((s) => !isScope(s));
  if (bad.length > 0) throw new UsageError(`unknown scope ${bad.join(', ')}`);
  return list as Scope[];
}

async function run(services: Services, argv: string[]): Promise<void> {
  if (argv[0] === 'sso') return runSsoCommand(services, argv.slice(1));
  if (argv[0] === 'users' && argv[1] === 'clone')
    return runCareCommand(services, 'users', argv.slice(1));
  if (argv[0] === 'users') return runUsersCommand(services, argv.slice(1));
  if (argv[0] === 'staff-members' || argv[0] === 'sites')
    return runCareCommand(services, argv[0], argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      'expires-in': { type: 'string' },
      // A token that acts as this user: the care access rules apply to it (admin API, /Me).
      user: { type: 'string' },
    },
  });
  const [noun, verb, arg] = positionals;
  if (noun === 'tenants' && verb === 'create' && arg) {
    const { tenant, created } = await services.directory.tenants.ensure(arg);
    console.log(
      created
        ? `created tenant ${tenant.name} (${tenant.id})`
        : `tenant ${tenant.name} exists (${tenant.id})`,
    );
  } else if (noun === 'tenants' && verb === 'list') {
    const { rows } = await services.db.pool.query<{ id: string; name: string }>(
      'select id, name from tenants order by name',
    );
    for (const row of rows) console.log(`${row.name}\t${row.id}`);
  } else if (noun === 'token' && !verb) {
    const expires = values['expires-in'] ? Number(values['expires-in']) : undefined;
    if (expires !== undefined && !(Number.isInteger(expires) && expires > 0)) {
      throw new UsageError('--expires-in takes a whole number of seconds');
    }
    const tenant = await tenantId(services, values.tenant);
    if (values.user) await services.directory.users.get(tenant, values.user);
    const issued = await services.tokens.issue({
      tenantId: tenant,
      scopes: scopes(values.scope),
      name: values.name ?? 'cli token',
      ...(values.user ? { userId: values.user } : {}),
      ...(expires ? { expiresInSeconds: expires } : {}),
    });
    console.error(
      `token ${issued.id} for tenant ${values.tenant}; revoke with: npm run cli -- tokens revoke --tenant ${values.tenant} ${issued.id}`,
    );
    console.log(issued.token);
  } else if (noun === 'tokens' && verb === 'revoke' && arg) {
    const done = await services.tokens.revoke(await tenantId(services, values.tenant), arg);
    if (!done) throw new UsageError(`no active token ${arg} in tenant ${values.tenant}`);
    console.log(`revoked token ${arg}`);
  } else if (noun === 'clients' && verb === 'create') {
    const client = await services.clients.create(
      await tenantId(services, values.tenant),
      values.name ?? 'scim client',
      scopes(values.scope),
    );
    console.log(`client_id:     ${client.clientId}`);
    console.log(`client_secret: ${client.clientSecret}`);
    console.log(`token URL:     ${services.config.publicUrl}/oauth/token`);
  } else if (noun === 'clients' && verb === 'revoke' && arg) {
    const done = await services.clients.revoke(await tenantId(services, values.tenant), arg);
    if (!done) throw new UsageError(`no active client ${arg} in tenant ${values.tenant}`);
    console.log(`revoked client ${arg}`);
  } else if (noun === 'keys' && verb === 'rotate') {
    console.log(`new signing key ${await services.keys.rotate()}`);
  } else {
    throw new UsageError(USAGE);
  }
}

/** The command line: works beside a running server (embedded database included). */
async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const argv = process.argv.slice(2);
  // An import writes rows concurrently (src/admin/csv/csv-import.ts): it needs connections.
  const poolSize = argv[0] === 'import' ? 20 : 2;
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize });
  try {
    const services = await createServices(config, db);
    if (argv[0] === 'import') return await runImportCommand(services, argv.slice(1));
    if (argv[0] === 'imports') return await runImportsCommand(services, argv.slice(1));
    await run(services, argv);
    return 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof SsoUsageError ||
      err instanceof UsersUsageError ||
      err instanceof CareUsageError ||
      err instanceof ImportUsageError ||
      err instanceof DirectoryError ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      console.error((err as Error).message);
      return 2;
    }
    throw err;
  } finally {
    await db.close();
  }
}

process.exitCode = await main();
