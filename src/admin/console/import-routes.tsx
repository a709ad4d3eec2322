import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Services } from '../../services.ts';
import { importUsers, MAX_IMPORT_BYTES } from '../csv/csv-import.ts';
import { templateCSV, templateFileName } from '../csv/csv-templates.ts';
import { ImportError } from '../csv/import-error.ts';
import { csvResponse, importOptions } from '../csv/import-routes.ts';
import type { InvitationOutbox } from '../csv/invitations.ts';
import { ImportPage } from '../pages/import-page.tsx';
import { type ConsoleEnv, consoleContext } from './console-session.ts';

/** A readable stream of an uploaded file, parsed as it streams. */
function fileStream(file: File): Readable {
  return Readable.fromWeb(file.stream() as import('node:stream/web').ReadableStream<Uint8Array>);
}

const MAX_MB = Math.round(MAX_IMPORT_BYTES / 1024 / 1024);

/** The console's CSV import: the form, the templates, and the result of a run. */
export function consoleImportRoutes(services: Services, outbox: InvitationOutbox) {
  const app = new Hono<ConsoleEnv>();

  app.get('/', (c) => {
    const session = c.get('session');
    return c.html(
      <ImportPage signedIn={session.user.userName} csrf={session.csrf} maxMB={MAX_MB} />,
    );
  });

  app.get('/templates/:mode', (c) => {
    const { mode } = importOptions({ mode: c.req.param('mode') });
    return csvResponse(c, templateCSV(mode), templateFileName(mode));
  });

  app.post('/', async (c) => {
    const session = c.get('session');
    const form = await c.req.parseBody();
    const file = form['file'];
    const page = (
      props: { error?: string; result?: Awaited<ReturnType<typeof importUsers>> },
      status: 200 | 400 | 413 = 200,
    ) =>
      c.html(
        <ImportPage
          signedIn={session.user.userName}
          csrf={session.csrf}
          maxMB={MAX_MB}
          {...props}
        />,
        status,
      );
    if (!(file instanceof File) || file.size === 0)
      return page({ error: 'Choose a CSV file to import.' }, 400);
    try {
      const opts = importOptions({
        mode: String(form['mode'] ?? ''),
        matchOn: String(form['matchOn'] ?? 'userName'),
        invite: String(form['invite'] ?? ''),
      });
      const result = await importUsers(
        {
          pool: services.db.pool,
          directory: services.directory,
          registry: services.registry,
          outbox,
        },
        consoleContext(c),
        fileStream(file),
        opts,
      );
      return page({ result });
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      return page({ error: err.message }, err.code === 'tooLarge' ? 413 : 400);
    }
  });
  return app;
}
