import { Readable } from 'node:stream';
import { type Context, Hono } from 'hono';
import { DirectoryError } from '../../directory/directory-error.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { bearerAuth } from '../../http/bearer-auth.ts';
import type { Services } from '../../services.ts';
import { adminContext, adminErrorResponse, idParam } from '../admin-context.ts';
import { IMPORT_MODES, type ImportMode, MATCH_FIELDS, type MatchField } from './csv-columns.ts';
import { exportUsersCSV } from './csv-export.ts';
import { importDeps, MAX_IMPORT_BYTES, tooLargeMessage } from './csv-import.ts';
import { templateCSV, templateFileName } from './csv-templates.ts';
import { ImportError } from './import-error.ts';
import { ImportRuns } from './import-runs.ts';
import type { InvitationOutbox } from './invitations.ts';

/** Reads `mode`, `matchOn` and `invite` of an import request; anything else is a 400. */
export function importOptions(query: {
  mode?: string | undefined;
  matchOn?: string | undefined;
  invite?: string | undefined;
}): { mode: ImportMode; matchOn: MatchField; invite: boolean } {
  const mode = query.mode as ImportMode;
  if (!IMPORT_MODES.includes(mode)) {
    throw new ImportError('badRequest', `mode is one of ${IMPORT_MODES.join(', ')}`);
  }
  const matchOn = (query.matchOn ?? 'userName') as MatchField;
  if (!MATCH_FIELDS.includes(matchOn)) {
    throw new ImportError('badRequest', `matchOn is one of ${MATCH_FIELDS.join(', ')}`);
  }
  return { mode, matchOn, invite: query.invite === 'true' || query.invite === 'on' };
}

/** The one mapping of importer refusals to the admin API's `{ error, message }`. */
export function importErrorResponse(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ImportError) {
    return c.json({ error: err.code, message: err.message }, err.code === 'tooLarge' ? 413 : 400);
  }
  return adminErrorResponse(err, c);
}

/**
 * The CSV admin API at `/admin/v1` (bearer token with scope `admin`):
 * - `POST /imports?mode=create|update|deactivate|reactivate&matchOn=userName|email|externalId|employeeNumber&invite=true`
 *   with the CSV as the body (`text/csv`), streamed: the result with counts and failed rows,
 *   and the `id` of its run;
 * - `GET /imports`: the tenant's latest runs; `GET /imports/:id`: one run, while it runs
 *   (its progress) and after (its result), whichever door started it;
 * - `GET /imports/templates/:mode`: the template of a mode;
 * - `GET /exports/users.csv`: every user of the tenant, formula cells escaped.
 */
export function importAdminApp(services: Services, outbox: InvitationOutbox) {
  const app = new Hono<AppEnv>();
  const runs = new ImportRuns(services.db.pool);
  app.onError(importErrorResponse);
  const auth = bearerAuth(services.tokens, () => ['admin']);
  for (const path of ['/imports', '/imports/*', '/exports/*']) app.use(path, auth);

  app.post('/imports', async (c) => {
    const opts = importOptions(c.req.query());
    const length = Number(c.req.header('content-length') ?? '0');
    // Refused before a byte is read when the size is declared; else counted as it streams.
    if (length > MAX_IMPORT_BYTES)
      throw new ImportError('tooLarge', tooLargeMessage(MAX_IMPORT_BYTES));
    const body = c.req.raw.body;
    if (!body) throw new ImportError('badHeader', 'the file is empty: it needs a header row');
    const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    const file = { fileName: null, fileBytes: length > 0 ? length : null };
    const run = await runs.start(importDeps(services, outbox), adminContext(c), source, opts, file);
    return c.json(await run.done);
  });

  app.get('/imports', async (c) => {
    return c.json({ runs: await runs.list(c.get('principal').tenantId) });
  });

  app.get('/imports/templates/:mode', (c) => {
    const { mode } = importOptions({ mode: c.req.param('mode') });
    return csvResponse(c, templateCSV(mode), templateFileName(mode));
  });

  app.get('/imports/:id', async (c) => {
    const id = idParam(c, 'id');
    const run = await runs.get(c.get('principal').tenantId, id);
    if (!run) throw new DirectoryError('notFound', `import run ${id} not found`);
    return c.json(run);
  });

  app.get('/exports/users.csv', (c) => {
    const csv = exportUsersCSV(services.db.pool, c.get('principal').tenantId);
    return csvResponse(c, Readable.toWeb(csv) as ReadableStream, 'users.csv');
  });
  return app;
}

/** A CSV download. */
export function csvResponse(c: Context, body: string | ReadableStream, fileName: string): Response {
  return c.body(body, 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${fileName}"`,
    'x-content-type-options': 'nosniff',
  });
}
