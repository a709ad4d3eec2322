import { createReadStream } from 'node:fs';
import { Hono } from 'hono';
import type { Services } from '../../services.ts';
import { importDeps, MAX_IMPORT_BYTES, tooLargeMessage } from '../csv/csv-import.ts';
import { templateCSV, templateFileName } from '../csv/csv-templates.ts';
import { ImportError } from '../csv/import-error.ts';
import { csvResponse, importOptions } from '../csv/import-routes.ts';
import { ImportRuns } from '../csv/import-runs.ts';
import type { InvitationOutbox } from '../csv/invitations.ts';
import { ImportPage, ImportRunPage } from '../pages/import-page.tsx';
import { type ConsoleEnv, consoleContext, csrfMatches, STALE_FORM } from './console-session.ts';
import { type SpooledUpload, spoolUpload, UploadRefused } from './spooled-upload.ts';

const MAX_MB = Math.round(MAX_IMPORT_BYTES / 1024 / 1024);

/**
 * The console's CSV import: the form and the latest runs, the templates, and a run's
 * progress view. A submitted file is written to a temporary file as it arrives (never
 * held in memory), then starts a run that goes on after the answer (a 303 to the run's
 * page), so a 100,000-row file shows its progress instead of a page that hangs.
 */
export function consoleImportRoutes(services: Services, outbox: InvitationOutbox) {
  const app = new Hono<ConsoleEnv>();
  const runs = new ImportRuns(services.db.pool);

  const formPage = async (c: import('hono').Context<ConsoleEnv>, error?: string) => {
    const session = c.get('session');
    return (
      <ImportPage
        signedIn={session.user.userName}
        csrf={session.csrf}
        maxMB={MAX_MB}
        runs={await runs.list(session.tenantId)}
        error={error}
      />
    );
  };

  app.get('/', async (c) => c.html(await formPage(c)));

  app.get('/templates/:mode', (c) => {
    const { mode } = importOptions({ mode: c.req.param('mode') });
    return csvResponse(c, templateCSV(mode), templateFileName(mode));
  });

  app.post('/', async (c) => {
    const session = c.get('session');
    if (!/^multipart\/form-data/i.test(c.req.header('content-type') ?? '')) {
      return c.html(await formPage(c, 'Choose a CSV file to import.'), 400);
    }
    let upload: SpooledUpload;
    try {
      upload = await spoolUpload(c.req.raw, {
        maxFileBytes: MAX_IMPORT_BYTES,
        // The token comes first in the form: nothing of a forged upload is kept.
        beforeFile: (fields) => {
          if (!csrfMatches(session, fields['_csrf'])) throw new UploadRefused(STALE_FORM);
        },
      });
    } catch (err) {
      if (err instanceof UploadRefused) return c.text(err.message, 403);
      throw err;
    }
    let started = false;
    try {
      if (!csrfMatches(session, upload.fields['_csrf'])) return c.text(STALE_FORM, 403);
      if (upload.tooLarge) {
        return c.html(await formPage(c, tooLargeMessage(MAX_IMPORT_BYTES)), 413);
      }
      if (!upload.file || upload.file.bytes === 0) {
        return c.html(await formPage(c, 'Choose a CSV file to import.'), 400);
      }
      let opts: ReturnType<typeof importOptions>;
      try {
        opts = importOptions({
          mode: upload.fields['mode'] ?? '',
          matchOn: upload.fields['matchOn'] ?? 'userName',
          invite: upload.fields['invite'] ?? '',
        });
      } catch (err) {
        if (!(err instanceof ImportError)) throw err;
        return c.html(await formPage(c, err.message), 400);
      }
      const log = c.get('log');
      const run = await runs.start(
        importDeps(services, outbox),
        consoleContext(c),
        createReadStream(upload.file.path),
        opts,
        { fileName: upload.file.name.slice(0, 200) || null, fileBytes: upload.file.bytes },
      );
      started = true;
      // The run records its own end; a refusal (header, size) is shown on the run's page.
      run.done
        .catch((err: unknown) => {
          if (!(err instanceof ImportError)) log?.error({ err, run: run.id }, 'import run failed');
        })
        .finally(() => upload.discard());
      return c.redirect(`/admin/import/runs/${run.id}`, 303);
    } finally {
      if (!started) await upload.discard();
    }
  });

  app.get('/runs/:id', async (c) => {
    const session = c.get('session');
    const run = await runs.get(session.tenantId, c.req.param('id'));
    if (!run) return c.html(await formPage(c, 'No such import run.'), 404);
    return c.html(<ImportRunPage signedIn={session.user.userName} csrf={session.csrf} run={run} />);
  });

  app.get('/runs/:id/progress', async (c) => {
    const run = await runs.get(c.get('session').tenantId, c.req.param('id'));
    if (!run) return c.json({ error: 'notFound', message: 'no such import run' }, 404);
    const { failures: _, ...progress } = run;
    return c.json(progress);
  });
  return app;
}
