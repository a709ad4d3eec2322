import { type Readable, Transform } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'csv-parse';
import type pg from 'pg';
import { appendAudit } from '../../audit/audit-log.ts';
import { prepareUserWrite } from '../../care/user-care.ts';
import type { DirectoryContext } from '../../directory/actor.ts';
import type { Directory } from '../../directory/directory.ts';
import { DirectoryError } from '../../directory/directory-error.ts';
import { primaryEmail, type UserInput, type UserRecord } from '../../directory/user-record.ts';
import type { SchemaRegistry } from '../../scim/schema-registry.ts';
import { SCIMError } from '../../scim/scim-error.ts';
import type { Services } from '../../services.ts';
import {
  type Column,
  createInput,
  type ImportMode,
  type MatchField,
  resolveHeader,
  updateInput,
} from './csv-columns.ts';
import { ImportError } from './import-error.ts';
import type { InvitationOutbox } from './invitations.ts';
import { findUsersBy } from './match-users.ts';

/** The largest file an import reads: 20 MiB holds well over 100,000 rows of a template. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** Rows looked up together (one query per batch) before their writes. */
const BATCH_ROWS = 500;
/** Failed rows kept in the result; the count covers them all. */
const MAX_FAILURES_LISTED = 10_000;

/** What an import needs of the services. */
export interface ImportDeps {
  pool: pg.Pool;
  directory: Directory;
  registry: SchemaRegistry;
  outbox: InvitationOutbox;
}

export function importDeps(services: Services, outbox: InvitationOutbox): ImportDeps {
  return {
    pool: services.db.pool,
    directory: services.directory,
    registry: services.registry,
    outbox,
  };
}

export interface ImportOptions {
  mode: ImportMode;
  /** How update, deactivate and reactivate rows find their user; ignored on create. */
  matchOn: MatchField;
  /** Queue an invitation for each created account (create mode). */
  invite?: boolean;
  maxBytes?: number;
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  bytes: number;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

/** One row the import could not apply, by its line in the file. */
export interface FailedRow {
  line: number;
  reason: string;
}

export interface ImportResult extends ImportProgress {
  mode: ImportMode;
  matchOn: MatchField | null;
  invited: number;
  failures: FailedRow[];
  /** True when more rows failed than `failures` lists. */
  failuresTruncated: boolean;
  /** Set when the import stopped early (the file grew past the limit mid-stream). */
  stopped?: string;
  seconds: number;
}

interface Row {
  line: number;
  cells: string[];
}

/**
 * Imports a CSV stream of users through the directory's one write path: each row is
 * validated as a SCIM POST or PUT body would be; creates go set-based through
 * `directory.users.createMany` (one transaction per batch, each row with its audit and
 * change events and its group-rule memberships, each failing alone), updates, deactivations
 * and reactivations set-based too, through `directory.users.updateMany` (rows naming the
 * same user in file order). A bad row is reported by line and
 * reason without stopping the others. The file is parsed as it streams, in batches of
 * {@link BATCH_ROWS}; it is never held in memory. Running the same file again changes
 * nothing: rows that already hold are counted unchanged. The run itself is one audit event
 * (`import.<mode>`).
 *
 * A header that cannot be imported refuses the whole file before any row is written.
 */
export async function importUsers(
  deps: ImportDeps,
  ctx: DirectoryContext,
  source: Readable,
  opts: ImportOptions,
): Promise<ImportResult> {
  const started = performance.now();
  const maxBytes = opts.maxBytes ?? MAX_IMPORT_BYTES;
  const result: ImportResult = {
    mode: opts.mode,
    matchOn: opts.mode === 'create' ? null : opts.matchOn,
    bytes: 0,
    rows: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    invited: 0,
    failures: [],
    failuresTruncated: false,
    seconds: 0,
  };
  const fail = (line: number, reason: string) => {
    result.failed++;
    if (result.failures.length < MAX_FAILURES_LISTED) result.failures.push({ line, reason });
    else result.failuresTruncated = true;
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      result.bytes += chunk.length;
      if (result.bytes > maxBytes) {
        done(new ImportError('tooLarge', tooLargeMessage(maxBytes)));
      } else done(null, chunk);
    },
  });
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  });
  parser.on('skip', (err: Error & { lines?: number }) => fail(err.lines ?? 0, err.message));
  source.on('error', (err) => counter.destroy(err));
  counter.on('error', (err) => parser.destroy(err));
  source.pipe(counter).pipe(parser);

  const writer = new RowWriter(deps, ctx, opts, result, fail);
  const statistics = new GrowingTables(deps.pool);
  let columns: Column[] | undefined;
  let batch: Row[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (!columns) {
        columns = resolveHeader(deps.registry, record, opts.mode, opts.matchOn);
        continue;
      }
      result.rows++;
      if (record.length !== columns.length) {
        fail(info.lines, `the row has ${record.length} cells; the header has ${columns.length}`);
        continue;
      }
      batch.push({ line: info.lines, cells: record });
      if (batch.length >= BATCH_ROWS) {
        await writer.write(columns, batch);
        batch = [];
        await statistics.maybeAnalyze(result.created + result.updated);
        opts.onProgress?.(progressOf(result));
      }
    }
    if (!columns) throw new ImportError('badHeader', 'the file is empty: it needs a header row');
    if (batch.length > 0) await writer.write(columns, batch);
  } catch (err) {
    source.destroy();
    // A file that grows too large mid-stream keeps what it imported, and says where it stopped.
    if (!(err instanceof ImportError && err.code === 'tooLarge' && result.rows > 0)) throw err;
    if (batch.length > 0 && columns) await writer.write(columns, batch);
    result.stopped = `${err.message}; stopped after ${result.rows} rows`;
  }
  result.seconds = Math.round(performance.now() - started) / 1000;
  opts.onProgress?.(progressOf(result));
  await appendAudit(deps.pool, ctx, {
    subjectType: 'tenant',
    subjectId: ctx.tenantId,
    type: `import.${opts.mode}`,
    after: {
      matchOn: result.matchOn,
      rows: result.rows,
      created: result.created,
      updated: result.updated,
      unchanged: result.unchanged,
      failed: result.failed,
      invited: result.invited,
      failures: result.failures.slice(0, 100),
      ...(result.stopped ? { stopped: result.stopped } : {}),
    },
  });
  return result;
}

export function tooLargeMessage(maxBytes: number): string {
  return `the file is larger than the import limit of ${Math.round(maxBytes / 1024 / 1024)} MB; split it into smaller files`;
}

function progressOf(r: ImportResult): ImportProgress {
  const { bytes, rows, created, updated, unchanged, failed } = r;
  return { bytes, rows, created, updated, unchanged, failed };
}

/**
 * A bulk import grows `users` and `group_members` faster than autovacuum analyzes them:
 * with statistics from before the import, the planner takes the tenant's first thousands
 * of accounts for a handful and scans them on every batch. So the import analyzes the
 * two tables itself after 5,000 written rows and each time the count doubles (PostgreSQL's
 * advice after a bulk load): five short ANALYZEs for 100,000 rows.
 */
class GrowingTables {
  private next = 5_000;

  constructor(private readonly pool: pg.Pool) {}

  async maybeAnalyze(written: number): Promise<void> {
    if (written < this.next) return;
    this.next = written * 2;
    await this.pool.query('analyze users, group_members');
  }
}

/** Why a row failed, in words an administrator can act on. */
function reasonOf(err: unknown): string {
  if (err instanceof DirectoryError || err instanceof ImportError || err instanceof SCIMError) {
    return err.message;
  }
  throw err;
}

/** Applies batches of rows: one lookup per batch, then each row through the directory. */
class RowWriter {
  constructor(
    private readonly deps: ImportDeps,
    private readonly ctx: DirectoryContext,
    private readonly opts: ImportOptions,
    private readonly result: ImportResult,
    private readonly fail: (line: number, reason: string) => void,
  ) {}

  async write(columns: Column[], rows: Row[]): Promise<void> {
    if (this.opts.mode === 'create') await this.create(columns, rows);
    else await this.change(columns, rows);
  }

  private async create(columns: Column[], rows: Row[]): Promise<void> {
    const { directory, registry } = this.deps;
    const inputs: { row: Row; input: UserInput }[] = [];
    for (const row of rows) {
      try {
        inputs.push({ row, input: createInput(registry, columns, row.cells) });
      } catch (err) {
        this.fail(row.line, reasonOf(err));
      }
    }
    const existing = await findUsersBy(
      this.deps.pool,
      this.ctx.tenantId,
      'userName',
      inputs.map((i) => i.input.userName),
    );
    const fresh: { row: Row; input: UserInput }[] = [];
    for (const item of inputs) {
      const found = existing.get(item.input.userName.toLowerCase())?.[0];
      if (!found) fresh.push(item);
      // The same file again: an account that already holds the row is unchanged.
      else if (await this.holds(found, item.input)) this.result.unchanged++;
      else
        this.fail(item.row.line, `userName ${item.input.userName} already exists; use update mode`);
    }
    if (fresh.length === 0) return;
    // Set-based (users-batch.ts): one transaction per batch, each row failing alone.
    const outcomes = await directory.users.createMany(
      this.ctx,
      fresh.map((f) => f.input),
    );
    for (const [i, outcome] of outcomes.entries()) {
      const item = fresh[i] as (typeof fresh)[number];
      if (!outcome.ok) {
        this.fail(item.row.line, outcome.error.message);
        continue;
      }
      this.result.created++;
      if (this.opts.invite) await this.invite(outcome.id, item.input);
    }
  }

  /**
   * Whether an existing account already is what a create row describes, once the care
   * directory has completed the row as it would on create (computed care attributes).
   */
  private async holds(user: UserRecord, input: UserInput): Promise<boolean> {
    let stored = input;
    try {
      stored = (await prepareUserWrite(this.deps.pool, this.ctx, undefined, input)).input;
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      return false;
    }
    return (
      user.userName === stored.userName &&
      user.externalId === stored.externalId &&
      user.status === stored.status &&
      isDeepStrictEqual(user.attrs, stored.attrs)
    );
  }

  private async invite(userId: string, input: UserInput): Promise<void> {
    const email = primaryEmail(input.attrs);
    if (!email) return;
    const language = input.attrs['preferredLanguage'];
    await this.deps.outbox.enqueue({
      tenantId: this.ctx.tenantId,
      userId,
      userName: input.userName,
      email,
      language: typeof language === 'string' ? language : null,
    });
    this.result.invited++;
  }

  /**
   * Update, deactivate and reactivate rows: one lookup for the batch, then set-based
   * through `directory.users.updateMany` (one transaction per wave). Rows naming the same
   * user apply in file order, each in a later wave (the last one wins, as in a spreadsheet).
   */
  private async change(columns: Column[], rows: Row[]): Promise<void> {
    const { directory, pool } = this.deps;
    const matchAt = columns.findIndex((c) => c.kind === 'match');
    const keyOf = (row: Row) => (row.cells[matchAt] ?? '').trim();
    const { matchOn } = this.opts;
    const found = await findUsersBy(pool, this.ctx.tenantId, matchOn, rows.map(keyOf));
    const waves: { row: Row; id: string }[][] = [];
    const seen = new Map<string, number>();
    for (const row of rows) {
      const key = keyOf(row);
      const users =
        key === '' ? [] : (found.get(matchOn === 'externalId' ? key : key.toLowerCase()) ?? []);
      const [user, ...more] = users;
      if (!user) {
        this.fail(
          row.line,
          key === '' ? 'the match cell is empty' : `no user has ${matchOn} ${key}`,
        );
        continue;
      }
      if (more.length > 0) {
        this.fail(
          row.line,
          `${users.length} users have ${matchOn} ${key}; match on a unique field`,
        );
        continue;
      }
      const wave = (seen.get(user.id) ?? -1) + 1;
      seen.set(user.id, wave);
      const list = waves[wave] ?? [];
      list.push({ row, id: user.id });
      waves[wave] = list;
    }
    for (const wave of waves) {
      const outcomes = await directory.users.updateMany(
        this.ctx,
        wave.map(({ row, id }) => ({
          id,
          change: (current) => this.changed(columns, row, current),
        })),
      );
      for (const [i, outcome] of outcomes.entries()) {
        const { row } = wave[i] as { row: Row };
        if (!outcome.ok) this.fail(row.line, reasonOf(outcome.error));
        else if (outcome.changed) this.result.updated++;
        else this.result.unchanged++;
      }
    }
  }

  /** The account a row of this mode makes of `current`. */
  private changed(columns: Column[], row: Row, current: UserRecord): UserInput {
    const { mode } = this.opts;
    if (mode === 'update') return updateInput(this.deps.registry, columns, row.cells, current);
    const status =
      mode === 'deactivate'
        ? current.status === 'active'
          ? 'inactive'
          : current.status
        : current.status === 'inactive'
          ? 'active'
          : current.status;
    return { ...inputOf(current), status };
  }
}

function inputOf(user: UserRecord): UserInput {
  return {
    userName: user.userName,
    externalId: user.externalId,
    status: user.status,
    attrs: user.attrs,
  };
}
