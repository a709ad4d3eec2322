import { Readable } from 'node:stream';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../../http/app-env.ts';
import { bearerAuth } from '../../http/bearer-auth.ts';
import type { Services } from '../../services.ts';
import { adminContext, adminErrorResponse } from '../admin-context.ts';
import { IMPORT_MODES, type ImportMode, MATCH_FIELDS, type MatchField } from './csv-columns.ts';
import { exportUsersCSV } from './csv-export.ts';
import { importUsers, MAX_IMPORT_BYTES, tooLargeMessage } from './csv-import.ts';
import { templateCSV, templateFileName } from './csv-templates.ts';
import { ImportError } from './import-error.ts';
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
 *   with the CSV as the body (`text/csv`), streamed: the result with counts and failed rows;
 * - `GET /imports/templates/:mode`: the template of a mode;
 * - `GET /exports/users.csv`: every user of the tenant, formula cells escaped.
 */
export function importAdminApp(services: Services, outbox: InvitationOutbox) {
  const app = new Hono<AppEnv>();
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
    const result = await importUsers(
      {
        pool: services.db.pool,
        directory: services.directory,
        registry: services.registry,
        outbox,
      },
      adminContext(c),
      source,
      opts,
    );
    return c.json(result);
  });

  app.get('/imports/templates/:mode', (c) => {
    const { mode } = importOptions({ mode: c.req.param('mode') });
    return csvResponse(c, templateCSV(mode), templateFileName(mode));
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
