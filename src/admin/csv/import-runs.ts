import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import type { DirectoryContext } from '../../directory/actor.ts';
import { UUID } from '../../directory/uuid.ts';
import type { ImportMode, MatchField } from './csv-columns.ts';
import {
  type FailedRow,
  type ImportDeps,
  type ImportOptions,
  type ImportProgress,
  type ImportResult,
  importUsers,
} from './csv-import.ts';
import { ImportError } from './import-error.ts';

/** How often a running import writes its progress (and that it is alive). */
const PROGRESS_EVERY_MS = 1000;
/** A running import whose progress stopped for this long ran in a process that is gone. */
const INTERRUPTED_AFTER_SECONDS = 30;

export type ImportRunStatus = 'running' | 'done' | 'failed' | 'interrupted';

/** One import run as its progress view and `GET /admin/v1/imports/:id` show it. */
export interface ImportRun extends ImportProgress {
  id: string;
  mode: ImportMode;
  matchOn: MatchField | null;
  fileName: string | null;
  /** The file's size when the door knew it up front: the progress bar's end. */
  fileBytes: number | null;
  status: ImportRunStatus;
  invited: number;
  failures: FailedRow[];
  failuresTruncated: boolean;
  stopped: string | null;
  /** Why a failed run was refused (its header, its size). */
  error: string | null;
  actor: { type: string; id: string | null };
  startedAt: string;
  finishedAt: string | null;
}

/** What a door knows of the file before it is read. */
export interface ImportFile {
  fileName: string | null;
  fileBytes: number | null;
}

interface RunRow {
  id: string;
  mode: ImportMode;
  match_on: MatchField | null;
  file_name: string | null;
  file_bytes: string | null;
  status: ImportRunStatus;
  bytes: string;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  invited: number;
  failures: FailedRow[];
  failures_truncated: boolean;
  stopped: string | null;
  error: string | null;
  actor_type: string;
  actor_id: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const RUN_COLUMNS = `id, mode, match_on, file_name, file_bytes, bytes, rows, created, updated,
  unchanged, failed, invited, failures, failures_truncated, stopped, error, actor_type, actor_id,
  started_at, finished_at,
  case when status = 'running' and heartbeat_at < now() - interval '${INTERRUPTED_AFTER_SECONDS} seconds'
       then 'interrupted' else status end as status`;

function runOf(r: RunRow): ImportRun {
  return {
    id: r.id,
    mode: r.mode,
    matchOn: r.match_on,
    fileName: r.file_name,
    fileBytes: r.file_bytes === null ? null : Number(r.file_bytes),
    status: r.status,
    bytes: Number(r.bytes),
    rows: r.rows,
    created: r.created,
    updated: r.updated,
    unchanged: r.unchanged,
    failed: r.failed,
    invited: r.invited,
    failures: r.failures,
    failuresTruncated: r.failures_truncated,
    stopped: r.stopped,
    error: r.error,
    actor: { type: r.actor_type, id: r.actor_id },
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

/**
 * The record of every CSV import, whichever door started it: written when the run starts,
 * its progress once a second while it runs, its result (failed rows included) when it ends.
 */
export class ImportRuns {
  constructor(private readonly pool: pg.Pool) {}

  async get(tenantId: string, id: string): Promise<ImportRun | undefined> {
    // Not a uuid: no such run (never a database error on the cast).
    if (!UUID.test(id)) return undefined;
    const { rows } = await this.pool.query<RunRow>(
      `select ${RUN_COLUMNS} from import_runs where tenant_id = $1 and id = $2`,
      [tenantId, id],
    );
    return rows[0] ? runOf(rows[0]) : undefined;
  }

  /** The tenant's latest runs, newest first, without their failed rows. */
  async list(tenantId: string, limit = 20): Promise<ImportRun[]> {
    const { rows } = await this.pool.query<RunRow>(
      `select ${RUN_COLUMNS.replace('failures,', `'[]'::jsonb as failures,`)}
       from import_runs where tenant_id = $1 order by started_at desc, id limit $2`,
      [tenantId, limit],
    );
    return rows.map(runOf);
  }

  /**
   * Starts an import and records it. Resolves with the run's id once the run is recorded,
   * and with the whole run (`done`, or `failed` with the refusal as `error`) when it ends.
   * The import itself is {@link importUsers}; a refusal is still thrown to `done`'s awaiter.
   */
  async start(
    deps: ImportDeps,
    ctx: DirectoryContext,
    source: Readable,
    opts: ImportOptions,
    file: ImportFile,
  ): Promise<{ id: string; done: Promise<ImportResult & { id: string }> }> {
    const id = randomUUID();
    await this.pool.query(
      `insert into import_runs (id, tenant_id, actor_type, actor_id, mode, match_on, file_name, file_bytes)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        ctx.tenantId,
        ctx.actor.type,
        ctx.actor.id,
        opts.mode,
        opts.mode === 'create' ? null : opts.matchOn,
        file.fileName,
        file.fileBytes,
      ],
    );
    const reporter = new ProgressReporter(this.pool, id);
    const done = importUsers(deps, ctx, source, {
      ...opts,
      onProgress: (p) => {
        reporter.latest = p;
        opts.onProgress?.(p);
      },
    }).then(
      async (result) => {
        await reporter.stop();
        await this.pool.query(
          `update import_runs set status = 'done', bytes = $2, rows = $3, created = $4, updated = $5,
             unchanged = $6, failed = $7, invited = $8, failures = $9, failures_truncated = $10,
             stopped = $11, finished_at = now(), heartbeat_at = now()
           where id = $1`,
          [
            id,
            result.bytes,
            result.rows,
            result.created,
            result.updated,
            result.unchanged,
            result.failed,
            result.invited,
            JSON.stringify(result.failures),
            result.failuresTruncated,
            result.stopped ?? null,
          ],
        );
        return { id, ...result };
      },
      async (err: unknown) => {
        await reporter.stop();
        const message =
          err instanceof ImportError ? err.message : 'the import stopped on an internal error';
        await this.pool.query(
          `update import_runs set status = 'failed', error = $2, finished_at = now(), heartbeat_at = now()
           where id = $1`,
          [id, message],
        );
        throw err;
      },
    );
    return { id, done };
  }
}

/** Writes a running import's latest progress once a second, one write at a time. */
class ProgressReporter {
  latest: ImportProgress | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: pg.Pool,
    private readonly id: string,
  ) {
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight.then(() => this.write());
    }, PROGRESS_EVERY_MS);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const p = this.latest;
    try {
      // Written even when unchanged: the heartbeat says the run's process is alive.
      await this.pool.query(
        `update import_runs set heartbeat_at = now(), bytes = $2, rows = $3, created = $4,
           updated = $5, unchanged = $6, failed = $7
         where id = $1 and status = 'running'`,
        [
          this.id,
          p?.bytes ?? 0,
          p?.rows ?? 0,
          p?.created ?? 0,
          p?.updated ?? 0,
          p?.unchanged ?? 0,
          p?.failed ?? 0,
        ],
      );
    } catch {
      // A missed progress write only delays the view; the result is written at the end.
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}
