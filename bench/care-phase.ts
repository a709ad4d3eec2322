/**
 * The care-extension phases of `npm run bench` (issue 3): the plain-user phases again for
 * users that carry the care extension (three care roles, two staff members and two
 * assistant links each), so the cost of checking and computing the extension shows as a
 * ratio. Target: within 20% of the plain-user figures (ops/s and p50).
 */

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import {
  alternatingWindows,
  type BenchClient,
  type BenchRequest,
  type BenchResponse,
  closedLoop,
  type PhaseResult,
  Recorder,
  runPhase,
  timed,
} from './load.ts';
import { PHASE } from './report.ts';
import type { RSSSampler } from './rss.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
const SITE = 'urn:ietf:params:scim:schemas:carebridge:2.0:Site';
const STAFF = 'urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember';
const SITES = ['bench-north', 'bench-south', 'bench-east'];
const STAFF_POOL = 50;

/** How far the care figures may fall behind the plain ones. */
export const CARE_TARGET = { maxSlowdown: 0.2 };

export interface CareBenchOptions {
  client: BenchClient;
  rss: RSSSampler;
  /** Users the plain phases created: the care recipients. */
  created: { index: number; id: string }[];
  /** The plain phases measured so far, to compare with. */
  plain: PhaseResult[];
  users: number;
  concurrency: number;
  seconds: number;
  /** The bench database (URL, or PGlite's socket directory), to enable the tenant setting. */
  db: { url?: string; socketDir?: string };
  tenant: string;
  /** The body of the i-th plain user created by the alternating create phase. */
  plainUserBody: (i: number) => string;
  log: (message: string) => void;
}

const careName = (i: number) => `care.user.${String(i).padStart(6, '0')}@example.org`;
/** The userName bench/run.ts gives its i-th plain user. */
const plainName = (i: number) => `bench.user.${String(i).padStart(6, '0')}@example.org`;
const filterUserName = (name: string): BenchRequest => ({
  method: 'GET',
  path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`,
});
const random = (n: number) => Math.floor(Math.random() * n);

async function enableMultipleStaffMembers(opts: CareBenchOptions): Promise<void> {
  const client = new pg.Client(
    opts.db.url
      ? { connectionString: opts.db.url }
      : { host: opts.db.socketDir, port: 5432, user: 'postgres', database: 'postgres' },
  );
  await client.connect();
  try {
    await client.query(
      `update tenants set settings = settings || '{"multipleStaffMembersPerUser": true}'
       where lower(name) = lower($1)`,
      [opts.tenant],
    );
  } finally {
    await client.end();
  }
}

async function setUp(opts: CareBenchOptions): Promise<string[]> {
  await enableMultipleStaffMembers(opts);
  for (const code of SITES) {
    const res = await opts.client.send({
      method: 'POST',
      path: '/scim/v2/Sites',
      body: JSON.stringify({ schemas: [SITE], code, displayName: code }),
    });
    if (res.status !== 201) throw new Error(`POST /Sites failed (${res.status}): ${res.body}`);
  }
  const staff: string[] = [];
  for (let i = 0; i < STAFF_POOL; i++) {
    const res = await opts.client.send({
      method: 'POST',
      path: '/scim/v2/StaffMembers',
      body: JSON.stringify({
        schemas: [STAFF],
        displayName: `Bench staff ${i}`,
        centresOfCare: SITES,
      }),
    });
    if (res.status !== 201)
      throw new Error(`POST /StaffMembers failed (${res.status}): ${res.body}`);
    staff.push((JSON.parse(res.body) as { id: string }).id);
  }
  return staff;
}

function careUserBody(i: number, staff: string[], recipients: { id: string }[]): string {
  const a = recipients[i % recipients.length]?.id;
  const b = recipients[(i + 1) % recipients.length]?.id;
  return JSON.stringify({
    schemas: [USER, CARE],
    userName: careName(i),
    externalId: `care-ext-${i}`,
    active: true,
    displayName: `Care User ${i}`,
    name: { givenName: 'Care', familyName: `User ${i}`, formatted: `Care User ${i}` },
    emails: [{ value: careName(i), type: 'work', primary: true }],
    [CARE]: {
      roles: [
        { site: SITES[0], role: 'assistant' },
        { site: SITES[1], role: 'staff' },
        { site: SITES[2], role: 'intake' },
      ],
      staffMembers: [{ value: staff[i % staff.length] }, { value: staff[(i + 1) % staff.length] }],
      assistantLinks: [
        { recipient: a, status: 'active' },
        { recipient: b, status: 'inactive' },
      ],
      jobTitle: 'Assistant',
    },
  });
}

/**
 * `concurrency` workers alternate a plain-user request and the same request for a care
 * user, so both see the same machine load (the phases one after the other do not, on a
 * shared machine); each kind has its own recorder.
 */
async function interleaved(
  opts: CareBenchOptions,
  name: string,
  plainReq: (i: number) => BenchRequest,
  careReq: (i: number) => BenchRequest,
): Promise<[PhaseResult, PhaseResult]> {
  const cap = 200_000;
  const plain = new Recorder(`${name} (plain, interleaved)`, opts.concurrency, cap, opts.rss);
  const care = new Recorder(`${name} (care, interleaved)`, opts.concurrency, cap);
  const deadline = performance.now() + opts.seconds * 1000;
  let next = 0;
  await closedLoop(
    opts.concurrency,
    () => performance.now() < deadline && next < cap,
    async () => {
      const i = next++;
      await timed(opts.client, plain, plainReq(i));
      await timed(opts.client, care, careReq(i));
    },
  );
  const p = plain.finish();
  const c = care.finish();
  // In lockstep both kinds run at one rate: the latency is what compares.
  const slower = c.p50 / p.p50 - 1;
  c.note = `p50 ${c.p50.toFixed(2)} vs ${p.p50.toFixed(2)} ms plain (${slower >= 0 ? '+' : ''}${(slower * 100).toFixed(0)}%; target ≤ +${(CARE_TARGET.maxSlowdown * 100).toFixed(0)}%)`;
  opts.log(`${c.name}: ${c.note}`);
  return [p, c];
}

/** Windows per kind of the alternating phases. */
const WINDOWS = 4;

/**
 * Plain and care requests in alternating windows (alternatingWindows), so both see the
 * same machine load, and their rates compare. Lockstep, as `interleaved` runs, gives both
 * kinds one rate (and puts creates of both kinds into the same coalesced batches): it
 * compares latencies.
 */
async function alternating(
  opts: CareBenchOptions,
  name: string,
  plainReq: (i: number) => BenchRequest,
  careReq: (i: number) => BenchRequest,
  check?: (res: BenchResponse) => string | undefined,
): Promise<[PhaseResult, PhaseResult]> {
  const [plain, care] = (await alternatingWindows(
    [
      {
        name: `${name} (plain, alternating)`,
        client: opts.client,
        request: plainReq,
        check,
        rss: opts.rss,
      },
      { name: `${name} (care, alternating)`, client: opts.client, request: careReq, check },
    ],
    { concurrency: opts.concurrency, seconds: opts.seconds, windows: WINDOWS },
  )) as [PhaseResult, PhaseResult];
  const ratio = care.opsPerSec / plain.opsPerSec;
  care.note = `${(ratio * 100).toFixed(0)}% of plain ops/s in the same windows (${care.opsPerSec.toFixed(0)} vs ${plain.opsPerSec.toFixed(0)}); target ≥ ${((1 - CARE_TARGET.maxSlowdown) * 100).toFixed(0)}%`;
  opts.log(`${care.name}: ${care.note}`);
  return [plain, care];
}

const patchTitle = (id: string | undefined, i: number): BenchRequest => ({
  method: 'PATCH',
  path: `/scim/v2/Users/${id}`,
  body: JSON.stringify({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'title', value: `Title ${i}` }],
  }),
});

/** Runs the care phases and logs each against its plain counterpart. */
export async function carePhases(opts: CareBenchOptions): Promise<PhaseResult[]> {
  let staff: string[];
  try {
    staff = await setUp(opts);
  } catch (err) {
    opts.log(`care phases skipped: ${(err as Error).message}`);
    return [];
  }
  const recipients = opts.created.slice(0, 1000);
  const count = Math.min(opts.users, 10_000);
  const ids: string[] = [];
  const post = await runPhase({
    name: `${PHASE.post} (care)`,
    client: opts.client,
    concurrency: opts.concurrency,
    rss: opts.rss,
    requests: count,
    request: (i) => ({
      method: 'POST',
      path: '/scim/v2/Users',
      body: careUserBody(i, staff, recipients),
    }),
    onOk: (res) => {
      ids.push((JSON.parse(res.body) as { id: string }).id);
    },
  });
  const create = (body: (i: number) => string) => (i: number) => ({
    method: 'POST' as const,
    path: '/scim/v2/Users',
    body: body(i),
  });
  const phases = [
    post,
    ...(await alternating(
      opts,
      PHASE.post,
      create(opts.plainUserBody),
      create((i) => careUserBody(count + i, staff, recipients)),
    )),
  ];
  const plainUser = () =>
    opts.created[random(opts.created.length)] as { index: number; id: string };
  const oneUser = (res: BenchResponse) =>
    (JSON.parse(res.body) as { totalResults?: number }).totalResults === 1
      ? undefined
      : 'expected one user';
  if (ids.length > 0) {
    phases.push(
      ...(await alternating(
        opts,
        PHASE.getById,
        () => ({ method: 'GET', path: `/scim/v2/Users/${plainUser().id}` }),
        () => ({ method: 'GET', path: `/scim/v2/Users/${ids[random(ids.length)]}` }),
      )),
      ...(await alternating(
        opts,
        PHASE.filterUserName,
        () => filterUserName(plainName(plainUser().index)),
        () => filterUserName(careName(random(ids.length))),
        oneUser,
      )),
    );
  }
  if (ids.length > 0) {
    const plainId = (i: number) => opts.created[(i * 7919) % opts.created.length]?.id;
    const careId = (i: number) => ids[(i * 7919) % ids.length];
    phases.push(
      ...(await interleaved(
        opts,
        PHASE.getById,
        (i) => ({ method: 'GET', path: `/scim/v2/Users/${plainId(i)}` }),
        (i) => ({ method: 'GET', path: `/scim/v2/Users/${careId(i)}` }),
      )),
      ...(await interleaved(
        opts,
        PHASE.filterUserName,
        (i) =>
          filterUserName(plainName(opts.created[(i * 7919) % opts.created.length]?.index ?? 0)),
        (i) => filterUserName(careName((i * 7919) % ids.length)),
      )),
      ...(await interleaved(
        opts,
        'PATCH title',
        (i) => patchTitle(plainId(i), i),
        (i) => patchTitle(careId(i), i),
      )),
    );
  }
  // The count-bounded create phase ran minutes after the plain one, under another load:
  // its figure is shown, and the alternating rows compare.
  const base = opts.plain.find((q) => q.name === PHASE.post);
  if (base) {
    post.note = `${((post.opsPerSec / base.opsPerSec) * 100).toFixed(0)}% of the plain POST phase, which ran earlier under another load (not a target: the alternating rows compare)`;
    opts.log(`${post.name}: ${post.note}`);
  }
  return phases;
}
