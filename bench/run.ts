/**
 * `npm run bench -- [--users 10000] [--concurrency 32] [--database postgres|pglite] [--seconds 10] [--rules 200]`
 *
 * Starts carebridge on a fresh database (a new `cb_bench_<time>` database on the server of
 * BENCH_DATABASE_URL, or PGlite in a temporary DATA_DIR), measures the SCIM hot paths with
 * a bounded closed-loop load from 127.0.0.1 next to a bare Hono + `pg` baseline on the same
 * database, prints a markdown table and writes it to bench/results/<database>-<users>.md.
 *
 * Exits 0 whatever the figures (it is a measurement); 1 when a phase has more than 1%
 * errors, 2 when carebridge does not start.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { carePhases } from './care-phase.ts';
import { importPhase } from './import-phase.ts';
import {
  alternatingWindows,
  BenchClient,
  type BenchRequest,
  type BenchResponse,
  type PhaseResult,
  Recorder,
  runPhase,
  timed,
} from './load.ts';
import {
  type Child,
  createScratchDatabase,
  freePort,
  runNpm,
  type ScratchDatabase,
  settleDatabase,
  startCarebridge,
  startTS,
  stopChild,
  waitReady,
} from './processes.ts';
import { type Baseline, checkTargets, PHASE, renderReport } from './report.ts';
import { RSSSampler } from './rss.ts';
import { rulePhases } from './rules-phase.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** Upper bound on requests in a time-bounded phase. */
const MAX_TIMED_REQUESTS = 1_000_000;

function options() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '32' },
      database: { type: 'string', default: 'postgres' },
      seconds: { type: 'string', default: '10' },
      rules: { type: 'string', default: '200' },
    },
  });
  const users = Number(values.users);
  const concurrency = Number(values.concurrency);
  const seconds = Number(values.seconds);
  const database = values.database;
  if (!Number.isInteger(users) || users < 1)
    throw new Error('--users takes a positive whole number');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('--concurrency takes a positive whole number');
  if (!(seconds > 0)) throw new Error('--seconds takes a positive number');
  if (database !== 'postgres' && database !== 'pglite')
    throw new Error('--database is postgres or pglite');
  const rules = Number(values.rules);
  if (!Number.isInteger(rules) || rules < 0) throw new Error('--rules takes a whole number');
  return { users, concurrency, seconds, database, rules } as const;
}

const pad = (i: number) => String(i).padStart(6, '0');
const userName = (i: number) => `bench.user.${pad(i)}@example.org`;
const externalId = (i: number) => `ext-${pad(i)}`;

/** A plain user; `employeeNumber` is its index unless given (the rule phase matches on it). */
function userBody(i: number, employeeNumber = String(i)): string {
  return JSON.stringify({
    schemas: [USER_SCHEMA, ENTERPRISE],
    userName: userName(i),
    externalId: externalId(i),
    active: true,
    displayName: `Bench User ${i}`,
    name: { givenName: 'Bench', familyName: `User ${i}`, formatted: `Bench User ${i}` },
    emails: [{ value: userName(i), type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber, department: 'Care' },
  });
}

const patchActive = (value: 'True' | 'False') =>
  JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value }] });

function parse<T>(body: string): T | undefined {
  try {
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
}

const random = (n: number) => Math.floor(Math.random() * n);

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function summary(p: PhaseResult): string {
  return `${p.name}: ${p.requests} req in ${p.seconds.toFixed(1)} s, ${p.opsPerSec.toFixed(0)} ops/s, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms, ${p.errors} errors${p.maxRSSMB ? `, RSS ${p.maxRSSMB.toFixed(0)} MB` : ''}`;
}

/** The bare Hono + pg baseline, running in its own process next to carebridge. */
interface BareServer {
  pid: number;
  client: BenchClient;
  /** A GET of one random row by primary key. */
  select: () => BenchRequest;
  stop(): Promise<void>;
}

/** Starts the bare server; undefined when it fails (that only costs the ratios). */
async function startBare(
  opts: ReturnType<typeof options>,
  dbEnv: { url?: string; socketDir?: string },
  work: string,
): Promise<BareServer | undefined> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    BARE_POOL_SIZE: dbEnv.url ? '20' : '8', // PGlite's socket takes 32 connections in all
    ...(dbEnv.url ? { BARE_DATABASE_URL: dbEnv.url } : { BARE_PG_HOST: dbEnv.socketDir }),
  };
  const bare = startTS('bench/bare-server.ts', env, join(work, 'bare.log'), ROOT);
  const client = new BenchClient(port, { 'content-type': 'application/json' }, opts.concurrency);
  const stop = async () => {
    client.close();
    await stopChild(bare);
  };
  try {
    await waitReady(`http://127.0.0.1:${port}/healthz`, bare, 60_000);
    const ids = parse<string[]>((await client.send({ method: 'GET', path: '/ids' })).body) ?? [];
    if (ids.length === 0) throw new Error('the bare server has no rows');
    return {
      pid: bare.pid,
      client,
      select: () => ({ method: 'GET', path: `/select/${ids[random(ids.length)]}` }),
      stop,
    };
  } catch (err) {
    log(`bare baseline failed, ratios will be n/a: ${(err as Error).message}\n${bare.logTail()}`);
    await stop();
    return undefined;
  }
}

/**
 * The bare SELECT and INSERT before carebridge's phases: the POST ratio's baseline, and
 * the reads' when they cannot alternate with the bare server.
 */
async function measureBare(
  opts: ReturnType<typeof options>,
  bare: BareServer | undefined,
): Promise<Baseline> {
  if (!bare) return { select: undefined, insert: undefined };
  const rss = new RSSSampler(bare.pid);
  rss.start();
  const phase = { client: bare.client, concurrency: opts.concurrency, rss };
  // JIT warm-up, as carebridge's read phases are warmed by the POST phase before them.
  await runPhase({ ...phase, name: 'warm-up', requests: 20_000, seconds: 3, request: bare.select });
  const select = await runPhase({
    ...phase,
    name: 'bare SELECT by primary key',
    requests: MAX_TIMED_REQUESTS,
    seconds: opts.seconds,
    request: bare.select,
  });
  log(summary(select));
  const insert = await runPhase({
    ...phase,
    name: 'bare INSERT',
    requests: MAX_TIMED_REQUESTS,
    seconds: opts.seconds,
    request: (i) => ({ method: 'POST', path: '/insert', body: userBody(i) }),
  });
  log(summary(insert));
  rss.stop();
  return { select, insert };
}

/** Windows per kind when a read phase alternates with the bare SELECT. */
const READ_WINDOWS = 4;

interface Created {
  index: number;
  id: string;
}

/** Every carebridge phase, in order; later phases use the users the first one created. */
async function measureCarebridge(
  opts: ReturnType<typeof options>,
  client: BenchClient,
  rss: RSSSampler,
  rulesClient: BenchClient,
  bare: BareServer | undefined,
  careDb: { url?: string; socketDir?: string } = {},
): Promise<PhaseResult[]> {
  const phases: PhaseResult[] = [];
  const record = (p: PhaseResult) => {
    phases.push(p);
    log(summary(p));
    return p;
  };
  const c = opts.concurrency;
  const timedPhase = {
    client,
    concurrency: c,
    rss,
    seconds: opts.seconds,
    requests: MAX_TIMED_REQUESTS,
  };

  log(`creating ${opts.users} users`);
  const createdAt: (string | undefined)[] = new Array(opts.users);
  record(
    await runPhase({
      name: PHASE.post,
      client,
      concurrency: c,
      rss,
      requests: opts.users,
      request: (i) => ({ method: 'POST', path: '/scim/v2/Users', body: userBody(i) }),
      check: (res) => (parse<{ id?: string }>(res.body)?.id ? undefined : 'no id in the response'),
      onOk: (res, i) => {
        createdAt[i] = parse<{ id: string }>(res.body)?.id;
      },
    }),
  );
  const created: Created[] = [];
  createdAt.forEach((id, index) => {
    if (id) created.push({ index, id });
  });
  if (created.length === 0) throw new Error('no user was created: the other phases need users');
  const pick = () => created[random(created.length)] as Created;
  log(`database settled after the load in ${(await settleDatabase(careDb)).toFixed(1)} s`);

  /**
   * A read phase in windows alternating with the bare SELECT (alternatingWindows), so its
   * ratio compares the two under the same machine load.
   */
  const readPhase = async (
    name: string,
    request: () => BenchRequest,
    check?: (res: BenchResponse) => string | undefined,
  ) => {
    if (!bare) return record(await runPhase({ ...timedPhase, name, request, check }));
    const [phase, baseline] = (await alternatingWindows(
      [
        { name, client, request, check, rss },
        { name: `bare SELECT, windows of ${name}`, client: bare.client, request: bare.select },
      ],
      { concurrency: c, seconds: opts.seconds, windows: READ_WINDOWS },
    )) as [PhaseResult, PhaseResult];
    phase.baseline = baseline;
    phase.note = `${READ_WINDOWS} windows alternating with the bare SELECT, which made ${baseline.opsPerSec.toFixed(0)} ops/s (p99 ${baseline.p99.toFixed(1)} ms) in its own`;
    return record(phase);
  };
  const oneResult = (res: { body: string }) => {
    const total = parse<{ totalResults?: number }>(res.body)?.totalResults;
    return total === 1 ? undefined : `totalResults is ${total}, expected 1`;
  };
  const filterBy = (filter: string) => ({
    method: 'GET' as const,
    path: `/scim/v2/Users?filter=${encodeURIComponent(filter)}`,
  });
  await readPhase(PHASE.getById, () => ({ method: 'GET', path: `/scim/v2/Users/${pick().id}` }));
  await readPhase(
    PHASE.filterUserName,
    () => filterBy(`userName eq "${userName(pick().index)}"`),
    oneResult,
  );
  await readPhase(
    PHASE.filterExternalId,
    () => filterBy(`externalId eq "${externalId(pick().index)}"`),
    oneResult,
  );

  record(await cursorWalk(client, rss, created.length));

  let deactivated = 0;
  record(
    await runPhase({
      ...timedPhase,
      name: 'PATCH active False',
      requests: created.length,
      request: (i) => {
        deactivated = Math.max(deactivated, i + 1);
        return {
          method: 'PATCH',
          path: `/scim/v2/Users/${created[i]?.id}`,
          body: patchActive('False'),
        };
      },
    }),
  );
  record(
    await runPhase({
      ...timedPhase,
      name: 'PATCH active True',
      requests: deactivated,
      seconds: undefined,
      request: (i) => ({
        method: 'PATCH',
        path: `/scim/v2/Users/${created[i]?.id}`,
        body: patchActive('True'),
      }),
    }),
  );

  // Users with the care extension (bench/care-phase.ts), next to the plain ones:
  // before the group and rule phases change the tenant.
  phases.push(
    ...(await carePhases({
      client,
      rss,
      created,
      plain: [...phases],
      db: careDb,
      tenant: 'bench',
      // Not among `created`: an employeeNumber ending in a letter keeps them out of the
      // rule phase's half-matching rule (an even last digit).
      plainUserBody: (i) => userBody(opts.users + i, `${opts.users + i}-alt`),
      log,
      ...opts,
    })),
  );
  phases.push(...(await groupPhases(opts, client, rss, created)));
  // Last: they leave rules behind that every later user write would evaluate.
  phases.push(...(await rulePhases({ client, rulesClient, rss, created, log, ...opts })));
  return phases;
}

/** One client walks every user with RFC 9865 cursors, 1,000 per page; ops are pages. */
async function cursorWalk(
  client: BenchClient,
  rss: RSSSampler,
  expected: number,
): Promise<PhaseResult> {
  const rec = new Recorder('cursor walk (count=1000)', 1, Math.ceil(expected / 1000) + 10, rss);
  const seen = new Set<string>();
  const started = performance.now();
  let cursor = '';
  let pages = 0;
  const maxPages = Math.ceil(expected / 1000) * 2 + 10;
  while (pages < maxPages) {
    pages++;
    const res = await timed(client, rec, {
      method: 'GET',
      path: `/scim/v2/Users?count=1000&cursor=${encodeURIComponent(cursor)}`,
    });
    if (!res) break;
    const page = parse<{ Resources?: { id: string }[]; nextCursor?: string }>(res.body);
    for (const r of page?.Resources ?? []) seen.add(r.id);
    if (!page?.nextCursor) break;
    cursor = page.nextCursor;
  }
  const seconds = (performance.now() - started) / 1000;
  if (seen.size !== expected)
    rec.error(`the walk saw ${seen.size} distinct users in ${pages} pages, expected ${expected}`);
  const result = rec.finish(
    `${seen.size} users in ${pages} pages, ${(seen.size / seconds).toFixed(0)} users/s`,
  );
  result.noRatio = true;
  return result;
}

async function groupPhases(
  opts: ReturnType<typeof options>,
  client: BenchClient,
  rss: RSSSampler,
  created: Created[],
): Promise<PhaseResult[]> {
  const res = await client.send({
    method: 'POST',
    path: '/scim/v2/Groups',
    body: JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: 'bench group' }),
  });
  const groupId = parse<{ id?: string }>(res.body)?.id;
  if (res.status !== 201 || !groupId) {
    log(
      `POST /Groups failed (${res.status}): ${res.body.slice(0, 400)}; skipping the group phases`,
    );
    const failed = new Recorder('POST /Groups', 1, 1);
    failed.error(`POST /Groups -> ${res.status}: ${res.body}`);
    return [failed.finish()];
  }
  const spread: string[] = [];
  for (let g = 0; g < opts.concurrency; g++) {
    const made = await client.send({
      method: 'POST',
      path: '/scim/v2/Groups',
      body: JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: `bench group ${g}` }),
    });
    const id = parse<{ id?: string }>(made.body)?.id;
    if (id) spread.push(id);
  }
  // IdPs push different groups at once; one group's PATCHes queue on its row by design.
  const perClient = await runPhase({
    name: 'group PATCH add 100 members (a group per client)',
    client,
    concurrency: opts.concurrency,
    rss,
    requests: Math.min(opts.concurrency * 20, Math.ceil(created.length / 100)),
    request: (b) => ({
      method: 'PATCH',
      path: `/scim/v2/Groups/${spread[b % spread.length]}`,
      body: JSON.stringify({
        schemas: [PATCH_OP],
        Operations: [
          {
            op: 'add',
            path: 'members',
            value: created.slice(b * 100, b * 100 + 100).map((u) => ({ value: u.id })),
          },
        ],
      }),
    }),
  });
  log(summary(perClient));

  const batches = Math.ceil(created.length / 100);
  const patch = await runPhase({
    name: 'group PATCH add 100 members (all clients, one group)',
    client,
    concurrency: opts.concurrency,
    rss,
    requests: batches,
    request: (b) => ({
      method: 'PATCH',
      path: `/scim/v2/Groups/${groupId}`,
      body: JSON.stringify({
        schemas: [PATCH_OP],
        Operations: [
          {
            op: 'add',
            path: 'members',
            value: created.slice(b * 100, b * 100 + 100).map((u) => ({ value: u.id })),
          },
        ],
      }),
    }),
  });
  // One untimed full read: concurrent PATCHes of one group must not lose a member.
  const t0 = performance.now();
  const full = await client.send({ method: 'GET', path: `/scim/v2/Groups/${groupId}` });
  const members = parse<{ members?: unknown[] }>(full.body)?.members?.length ?? 0;
  patch.note = `group holds ${members} of ${created.length} members afterwards (full GET: ${full.status}, ${(performance.now() - t0).toFixed(0)} ms, ${(full.body.length / 1e6).toFixed(1)} MB)`;
  if (members !== created.length) {
    patch.errors++;
    patch.errorSample ??= `the group holds ${members} members, expected ${created.length}`;
  }
  log(summary(patch));

  const get = await runPhase({
    name: 'GET group excludedAttributes=members',
    client,
    concurrency: opts.concurrency,
    rss,
    requests: MAX_TIMED_REQUESTS,
    seconds: opts.seconds,
    request: () => ({
      method: 'GET',
      path: `/scim/v2/Groups/${groupId}?excludedAttributes=members`,
    }),
    check: (r) => {
      const g = parse<{ id?: string; members?: unknown }>(r.body);
      if (g?.id !== groupId) return 'not the group';
      return g.members === undefined ? undefined : 'members were not excluded';
    },
  });
  log(summary(get));
  return [perClient, patch, get];
}

async function main(): Promise<number> {
  const opts = options();
  const work = mkdtempSync(join(tmpdir(), 'cb-bench-'));
  const cleanups: (() => Promise<void>)[] = [
    async () => rmSync(work, { recursive: true, force: true }),
  ];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((err: Error) => log(`cleanup: ${err.message}`));
    cleanups.length = 0;
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
    delete env['DATABASE_URL'];
    delete env['DATA_DIR'];
    delete env['PUBLIC_URL'];
    let scratch: ScratchDatabase | undefined;
    let databaseVersion = 'PGlite';
    const dataDir = join(work, 'data');
    if (opts.database === 'postgres') {
      const base =
        process.env['BENCH_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
      scratch = await createScratchDatabase(base, `cb_bench_${Date.now()}`);
      const dropIt = scratch.drop;
      cleanups.push(dropIt);
      env['DATABASE_URL'] = scratch.url;
      databaseVersion = `PostgreSQL ${scratch.serverVersion}`;
      log(`database ${scratch.name}`);
    } else {
      env['DATA_DIR'] = dataDir;
    }
    const port = await freePort();
    env['PORT'] = String(port);

    log(`starting carebridge on 127.0.0.1:${port} (${opts.database})`);
    const server: Child = startCarebridge(env, join(work, 'carebridge.log'), ROOT);
    cleanups.push(() => stopChild(server));
    try {
      await waitReady(`http://127.0.0.1:${port}/readyz`, server, 180_000);
    } catch (err) {
      log(`carebridge did not start: ${(err as Error).message}\n${server.logTail()}`);
      return 2;
    }
    const rss = new RSSSampler(server.pid);
    rss.start();

    await runNpm(['cli', '--', 'tenants', 'create', 'bench'], env, ROOT);
    const tokenOut = await runNpm(
      ['token', '--', '--tenant', 'bench', '--scope', 'scim'],
      env,
      ROOT,
    );
    const token = tokenOut.trim().split('\n').at(-1)?.trim();
    if (!token) throw new Error(`npm run token printed no token:\n${tokenOut}`);
    // A second tenant for the group-rule phases (bench/rules-phase.ts).
    await runNpm(['cli', '--', 'tenants', 'create', 'bench-rules'], env, ROOT);
    const rulesToken = (
      await runNpm(['token', '--', '--tenant', 'bench-rules', '--scope', 'scim'], env, ROOT)
    )
      .trim()
      .split('\n')
      .at(-1)
      ?.trim();

    const bareServer = await startBare(
      opts,
      scratch ? { url: scratch.url } : { socketDir: dataDir },
      work,
    );
    if (bareServer) cleanups.push(() => bareServer.stop());
    const bare = await measureBare(opts, bareServer);

    const client = new BenchClient(
      port,
      {
        authorization: `Bearer ${token}`,
        'content-type': 'application/scim+json',
        accept: 'application/scim+json',
      },
      opts.concurrency,
    );
    const rulesClient = new BenchClient(
      port,
      {
        authorization: `Bearer ${rulesToken}`,
        'content-type': 'application/scim+json',
        accept: 'application/scim+json',
      },
      8,
    );
    let phases: PhaseResult[];
    try {
      phases = await measureCarebridge(
        opts,
        client,
        rss,
        rulesClient,
        bareServer,
        scratch ? { url: scratch.url } : { socketDir: dataDir },
      );
      // The CSV import (bench/import-phase.ts): its own users, after every SCIM phase.
      const adminToken = (
        await runNpm(['token', '--', '--tenant', 'bench', '--scope', 'admin'], env, ROOT)
      )
        .trim()
        .split('\n')
        .at(-1)
        ?.trim();
      if (adminToken)
        phases.push(...(await importPhase({ port, adminToken, users: opts.users, rss, log })));
    } finally {
      rulesClient.close();
      client.close();
      rss.stop();
    }
    if (server.proc.exitCode !== null)
      log(`carebridge exited during the run:\n${server.logTail()}`);
    const serverLog = server.logTail(20).trim();
    if (serverLog) log(`last lines of the server's log:\n${serverLog}`);

    const checks = checkTargets(phases, bare, rss.overallPeakMB());
    const cpu = cpus();
    const report = renderReport(
      {
        database: opts.database,
        databaseVersion,
        users: opts.users,
        concurrency: opts.concurrency,
        seconds: opts.seconds,
        date: new Date().toISOString().slice(0, 16).replace('T', ' '),
        node: process.versions.node,
        cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}`,
      },
      bare,
      phases,
      checks,
    );
    process.stdout.write(`\n${report}`);
    mkdirSync(RESULTS, { recursive: true });
    const file = join(RESULTS, `${opts.database}-${opts.users}.md`);
    writeFileSync(file, report);
    log(`written to ${file}`);

    const tooMany = phases.filter((p) => p.errors > 0.01 * Math.max(1, p.requests));
    if (tooMany.length > 0) {
      log(`more than 1% errors in: ${tooMany.map((p) => p.name).join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
