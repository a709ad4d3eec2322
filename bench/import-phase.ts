/**
 * The CSV import phases of `npm run bench` (issue 6): one `POST /admin/v1/imports?mode=create`
 * of a `--users`-row file, streamed from disk, timed end to end, then one `mode=update` of
 * the same rows (a new title each). Target: 100,000 rows in under 60 s on PostgreSQL. The
 * rows are users of their own (`import.user.N`), beside the SCIM phases' users.
 *
 * Run alone (`npx tsx bench/import-phase.ts --rows 100000`) it imports in-process into a
 * scratch database on BENCH_DATABASE_URL's server, without HTTP, and prints the result.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { PhaseResult } from './load.ts';
import type { RSSSampler } from './rss.ts';

/** Seconds a 100,000-row import may take on PostgreSQL. */
export const IMPORT_TARGET = { rows: 100_000, seconds: 60 };
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Writes `header` and `line(i)` for each of `rows` rows, a row at a time (as a spreadsheet export would). */
async function writeRows(
  file: string,
  header: string,
  rows: number,
  line: (n: string) => string,
): Promise<number> {
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  for (let i = 0; i < rows; i++) {
    const ok = out.write(`${line(String(i).padStart(6, '0'))}\n`);
    if (!ok) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
  return statSync(file).size;
}

/** Writes a create file of `rows` users. */
export function writeImportFile(file: string, rows: number): Promise<number> {
  return writeRows(
    file,
    `email,username,language,name.givenName,name.familyName,title,${ENTERPRISE}:employeeNumber`,
    rows,
    (n) => `import.user.${n}@example.org,import.user.${n},sv-SE,Import,User ${n},Carer,imp-${n}`,
  );
}

/** An update file for the rows of {@link writeImportFile}: each gets a new title. */
export function writeUpdateFile(file: string, rows: number): Promise<number> {
  return writeRows(file, 'match,title', rows, (n) => `import.user.${n},Nurse`);
}

interface ImportResponse {
  created?: number;
  updated?: number;
  failed?: number;
  failures?: { line: number; reason: string }[];
}

/** POSTs a file to the import API with its body streamed from disk. */
function postFile(
  port: number,
  token: string,
  file: string,
  query: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/admin/v1/imports?${query}`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'text/csv',
          'content-length': statSync(file).size,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** The timed imports of `users` rows over HTTP (create, then update), as phases of the report. */
export async function importPhase(opts: {
  port: number;
  /** A token of the bench tenant with the scope `admin`. */
  adminToken: string;
  users: number;
  rss: RSSSampler;
  log: (message: string) => void;
}): Promise<PhaseResult[]> {
  const work = mkdtempSync(join(tmpdir(), 'cb-import-'));
  try {
    const creates = join(work, 'users.csv');
    const updates = join(work, 'updates.csv');
    const createBytes = await writeImportFile(creates, opts.users);
    await writeUpdateFile(updates, opts.users);
    opts.log(
      `importing ${opts.users} rows (${(createBytes / 1e6).toFixed(1)} MB) through POST /admin/v1/imports, then updating them`,
    );
    return [
      await timedImport(opts, creates, 'create', 'created'),
      await timedImport(opts, updates, 'update', 'updated'),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function timedImport(
  opts: Parameters<typeof importPhase>[0],
  file: string,
  mode: 'create' | 'update',
  count: 'created' | 'updated',
): Promise<PhaseResult> {
  opts.rss.resetPeak();
  const t0 = performance.now();
  const res = await postFile(opts.port, opts.adminToken, file, `mode=${mode}&matchOn=userName`);
  const ms = performance.now() - t0;
  let parsed: ImportResponse = {};
  try {
    parsed = JSON.parse(res.body) as ImportResponse;
  } catch {}
  const ok = res.status === 200 && parsed[count] === opts.users;
  const seconds = ms / 1000;
  const verdict =
    opts.users >= IMPORT_TARGET.rows
      ? ok && seconds < IMPORT_TARGET.seconds
        ? 'PASS'
        : 'FAIL'
      : 'n/a (fewer rows)';
  return {
    name: `CSV import (${mode}, ${opts.users} rows, 1 request)`,
    clients: 1,
    requests: 1,
    errors: ok ? 0 : 1,
    errorSample: ok ? undefined : `${res.status}: ${res.body.slice(0, 300)}`,
    seconds,
    opsPerSec: 1 / seconds,
    // One request is not a latency distribution: the p99 target is for the other phases.
    p50: Number.NaN,
    p99: Number.NaN,
    maxRSSMB: opts.rss.peakMB(),
    noRatio: true,
    note: `CSV import (${mode}): ${parsed[count] ?? 0} of ${opts.users} rows ${count} in ${seconds.toFixed(1)} s (${(opts.users / seconds).toFixed(0)} rows/s); target < ${IMPORT_TARGET.seconds} s for ${IMPORT_TARGET.rows.toLocaleString('en')} rows on PostgreSQL: ${verdict}`,
  };
}

/** Alone: an in-process import into a scratch PostgreSQL database, for quick measurements. */
async function standalone(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      // A group whose rule matches half of the imported rows, as the full bench leaves one.
      'half-rule': { type: 'boolean', default: false },
      // Then an update file of the same rows (a new title each), matched on userName.
      update: { type: 'boolean', default: false },
    },
  });
  const rows = Number(values.rows);
  const { createScratchDatabase } = await import('./processes.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { openDatabase } = await import('../src/db/database.ts');
  const { createServices } = await import('../src/services.ts');
  const { importDeps, importUsers } = await import('../src/admin/csv/csv-import.ts');
  const { LoggedInvitationStub } = await import('../src/admin/csv/invitations.ts');
  const base = process.env['BENCH_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const scratch = await createScratchDatabase(base, `cb_import_${Date.now()}`);
  const work = mkdtempSync(join(tmpdir(), 'cb-import-'));
  try {
    const config = loadConfig({
      DATABASE_URL: scratch.url,
      PUBLIC_URL: 'http://bench.test',
      LOG_LEVEL: 'warn',
    });
    const db = await openDatabase({ url: scratch.url, poolSize: 20 });
    try {
      const services = await createServices(config, db);
      const { tenant } = await services.directory.tenants.ensure('bench');
      const ctx = {
        tenantId: tenant.id,
        actor: { type: 'cli' as const, id: null },
        requestId: null,
      };
      if (values['half-rule']) {
        const rule = ['0', '2', '4', '6', '8']
          .map((d) => `${ENTERPRISE}:employeeNumber ew "${d}"`)
          .join(' or ');
        await services.directory.groups.create(
          ctx,
          { displayName: 'half', externalId: null, attrs: {}, rule },
          [],
        );
      }
      const deps = importDeps(services, new LoggedInvitationStub(console));
      const timed = async (file: string, mode: 'create' | 'update') => {
        const t0 = performance.now();
        const result = await importUsers(deps, ctx, createReadStream(file), {
          mode,
          matchOn: 'userName',
        });
        const s = (performance.now() - t0) / 1000;
        const done = mode === 'create' ? result.created : result.updated;
        console.log(
          `${mode}: ${done} ${mode}d, ${result.failed} failed of ${rows} in ${s.toFixed(1)} s (${(rows / s).toFixed(0)} rows/s)`,
          result.failures.slice(0, 3),
        );
      };
      const file = join(work, 'users.csv');
      await writeImportFile(file, rows);
      await timed(file, 'create');
      if (values.update) {
        const updates = join(work, 'updates.csv');
        await writeUpdateFile(updates, rows);
        await timed(updates, 'update');
      }
    } finally {
      await db.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await scratch.drop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await standalone();
