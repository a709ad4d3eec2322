import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { importDeps, MAX_IMPORT_BYTES, tooLargeMessage } from '../admin/csv/csv-import.ts';
import { ImportError } from '../admin/csv/import-error.ts';
import { importOptions } from '../admin/csv/import-routes.ts';
import { ImportRuns } from '../admin/csv/import-runs.ts';
import { LoggedInvitationStub } from '../admin/csv/invitations.ts';
import type { Services } from '../services.ts';

export const IMPORT_USAGE = `  npm run cli -- import --tenant NAME --mode create|update|deactivate|reactivate [--match-on userName|email|externalId|employeeNumber] [--invite] FILE`;

/** A refusal of the import command (exit 2 with the message). */
export class ImportUsageError extends Error {}

/** A one-line progress bar on stderr, redrawn in place; the result goes to stdout. */
function progressBar(total: number) {
  const width = 30;
  return (p: { bytes: number; rows: number; failed: number }) => {
    const share = total > 0 ? Math.min(1, p.bytes / total) : 1;
    const filled = Math.round(share * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(share * 100)}% ${p.rows} rows, ${p.failed} failed`,
    );
  };
}

/**
 * `npm run cli -- import …`: the same import as the admin API, from a file, through the
 * directory's write path with the CLI as the actor. Prints the result as JSON; exits 1
 * when a row failed, 2 when the file was refused.
 */
export async function runImportCommand(services: Services, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      mode: { type: 'string' },
      'match-on': { type: 'string' },
      invite: { type: 'boolean' },
    },
  });
  const file = positionals[0];
  if (!values.tenant || !file) throw new ImportUsageError(`usage:\n${IMPORT_USAGE}`);
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new ImportUsageError(`no tenant ${values.tenant}`);
  let opts: ReturnType<typeof importOptions>;
  let size: number;
  try {
    opts = importOptions({
      mode: values.mode,
      matchOn: values['match-on'],
      invite: values.invite ? 'true' : undefined,
    });
    size = statSync(file).size;
  } catch (err) {
    throw new ImportUsageError((err as Error).message);
  }
  if (size > MAX_IMPORT_BYTES) throw new ImportUsageError(tooLargeMessage(MAX_IMPORT_BYTES));
  const log = pino({ level: services.config.logLevel ?? 'info' }, pino.destination(2));
  try {
    const ctx = { tenantId: tenant.id, actor: { type: 'cli' as const, id: null }, requestId: null };
    const run = await new ImportRuns(services.db.pool).start(
      importDeps(services, new LoggedInvitationStub(log)),
      ctx,
      createReadStream(file),
      { ...opts, onProgress: progressBar(size) },
      { fileName: basename(file), fileBytes: size },
    );
    const result = await run.done;
    process.stderr.write('\n');
    console.log(JSON.stringify(result, null, 2));
    return result.failed > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write('\n');
    if (err instanceof ImportError) throw new ImportUsageError(err.message);
    throw err;
  }
}

export const IMPORTS_USAGE = `  npm run cli -- imports list --tenant NAME
  npm run cli -- imports show --tenant NAME RUN_ID`;

/**
 * `npm run cli -- imports list|show`: the tenant's import runs, whichever door started
 * them: a line per run (newest first), or one run as JSON with its failed rows.
 */
export async function runImportsCommand(services: Services, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tenant: { type: 'string' } },
  });
  const [verb, id] = positionals;
  if (!values.tenant || (verb !== 'list' && verb !== 'show') || (verb === 'show' && !id)) {
    throw new ImportUsageError(`usage:\n${IMPORTS_USAGE}`);
  }
  const tenant = await services.directory.tenants.findByName(values.tenant);
  if (!tenant) throw new ImportUsageError(`no tenant ${values.tenant}`);
  const runs = new ImportRuns(services.db.pool);
  if (verb === 'show') {
    const run = await runs.get(tenant.id, id as string);
    if (!run) throw new ImportUsageError(`no import run ${id} in tenant ${values.tenant}`);
    console.log(JSON.stringify(run, null, 2));
    return 0;
  }
  for (const r of await runs.list(tenant.id)) {
    console.log(
      [
        r.id,
        r.startedAt,
        r.status,
        r.mode,
        `rows=${r.rows}`,
        `created=${r.created}`,
        `updated=${r.updated}`,
        `unchanged=${r.unchanged}`,
        `failed=${r.failed}`,
        r.fileName ?? '-',
      ].join('\t'),
    );
  }
  return 0;
}
