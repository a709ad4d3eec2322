import type pg from 'pg';
import { type ReferenceCache, referenceFactsSQL } from '../care/reference-cache.ts';
import {
  batchedAccessActor,
  batchedReferenceLookup,
  prepareUserWrite,
  type ReferenceLookup,
} from '../care/user-care.ts';
import {
  BatchedTransaction,
  INDEXES_ONLY,
  inTenant,
  SEQSCAN_DEFAULT,
  type Statement,
  transactionInOneTrip,
} from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import { hashPassword } from './passwords.ts';
import { ruleLock } from './rule-sql.ts';
import { groupsFromColumn, userGroupsJSON } from './user-groups-sql.ts';
import type { UserMemberships } from './user-memberships.ts';
import { type BatchMember, batchMembershipStatements } from './user-memberships-batch.ts';
import {
  auditSnapshot,
  hasChanged,
  primaryEmail,
  type UserInput,
  type UserRecord,
  type UserRow,
  userFromRow,
} from './user-record.ts';
import { newId } from './uuid.ts';

/** The outcome of one input of a batch, in the order given. */
export type BatchCreateOutcome =
  | { ok: true; id: string; userName: string; user?: UserRecord }
  | { ok: false; error: DirectoryError };

/** What a batch of creates answers beside each outcome. */
export interface BatchCreateOptions {
  /** Each created account as a create answers it (its row and groups): one more read. */
  answers?: boolean;
  /** The request each input came in, for its audit event (else the context's). */
  requestIds?: (string | null)[];
}

// One statement inserts the batch's rows (a row whose userName or primary email is taken,
// by another account or by an earlier row of the batch, is skipped) with a change event
// each, when the rule set the batch was compiled with ($4, its generation) is still the
// tenant's and the sites, staff members and care recipients the rows name ($5–$7) are as
// the batch was told ($8, reference-cache.ts; null when they name none): it runs after
// the rule lock, which deletes of those take exclusively, so neither can change before
// the commit. It answers whether both held and the ids it stored: an answer is made of
// what was sent, not read back (the care extension tripled the bytes a create answered
// with parsing its row again).
const INSERT_MANY = `
  with fresh as (
    select 1 from tenants where id = $1 and rule_generation = $4::bigint
  ), known as (
    select $8::jsonb is null
        or $8::jsonb = ${referenceFactsSQL({ tenant: '$1', sites: '$5', staff: '$6', recipients: '$7' })} as held
  ), x as (
    select * from jsonb_to_recordset($2::jsonb) as x(id uuid, user_name text, external_id text,
      status text, primary_email text, attrs jsonb, password_hash text, ord int)
    where exists (select 1 from fresh) and (select held from known)
  ), u as (
    insert into users (id, tenant_id, user_name, external_id, status, primary_email, attrs,
                       password_hash, version, created_at, updated_at)
    select id, $1, user_name, external_id, status, primary_email, attrs, password_hash, 1, $3, $3
    from x order by ord
    on conflict do nothing
    returning id
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select $1, 'User', id, 'created', 1 from u
  )
  select exists (select 1 from fresh) as fresh, (select held from known) as known,
         coalesce((select array_agg(id) from u), '{}') as ids`;

/**
 * Creates many accounts in one transaction, as `users.create` creates one: the care
 * directory prepares each input (src/care/user-care.ts, the access rules included), the
 * rows and their change events are written in one statement, and the group-rule and
 * system memberships with each user's `user.created` audit event in another
 * (user-memberships-batch.ts), compiled from the tenant's cached rule set: the whole
 * transaction is one round trip, as one create's is. An input that is refused, or whose
 * userName or primary email is in use, fails alone; the others are created. For bulk
 * imports and concurrent creates, where one transaction per account would queue every
 * write on the rule groups' rows.
 */
export async function createUsers(
  pool: pg.Pool,
  caches: CreateCaches,
  ctx: DirectoryContext,
  requested: UserInput[],
  opts: BatchCreateOptions = {},
): Promise<BatchCreateOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createUsersOnce(pool, caches, ctx, requested, opts, attempt === 1);
    } catch (err) {
      if (!(err instanceof StaleBatch)) throw err;
      if (attempt >= MAX_ATTEMPTS) {
        throw new DirectoryError('conflict', 'the group rules keep changing; try again');
      }
    }
  }
}

/** What a process remembers per tenant for its creates; each checked in their transaction. */
export interface CreateCaches {
  /** The tenant's compiled rule set. */
  memberships: UserMemberships;
  /** The sites and staff members creates named (recipients are presumed, then checked). */
  references: ReferenceCache;
}

/**
 * A batch of creates stored nothing, or must not be sent, because what it was prepared
 * with went stale: the tenant's rules changed, or the references its accounts name (or
 * two of its writes were told different things about them). It is prepared again.
 */
class StaleBatch extends Error {
  constructor() {
    super('the batch was prepared with rules or references that changed since');
  }
}

/** How often a batch is prepared again because it went stale (StaleBatch). */
const MAX_ATTEMPTS = 20;

async function createUsersOnce(
  pool: pg.Pool,
  { memberships, references }: CreateCaches,
  ctx: DirectoryContext,
  requested: UserInput[],
  opts: BatchCreateOptions,
  presume: boolean,
): Promise<BatchCreateOutcome[]> {
  const outcomes: (BatchCreateOutcome | undefined)[] = new Array(requested.length);
  const prepared: { ord: number; input: UserInput; id: string; passwordHash: string | null }[] = [];
  // Side by side: their reference checks are answered from what earlier lookups found, or
  // else go to the database as one query for the batch.
  const refs = references.forBatch({ presume });
  const actor = batchedAccessActor();
  const prepare = async (input: UserInput, lookup: ReferenceLookup) => {
    const { input: next } = await prepareUserWrite(pool, ctx, undefined, input, { lookup, actor });
    const passwordHash = next.password === undefined ? null : await hashPassword(next.password);
    return { input: next, passwordHash };
  };
  const ready = await Promise.allSettled(
    requested.map(async (input) => {
      const write = refs.forWrite();
      try {
        return await prepare(input, write.lookup);
      } catch (err) {
        if (!(err instanceof DirectoryError) || !write.remembered()) throw err;
        // A refusal never rests on remembered facts: checked again on a fresh lookup.
        return await prepare(input, refs.forWrite({ fresh: true }).lookup);
      }
    }),
  );
  for (const [ord, r] of ready.entries()) {
    if (r.status === 'fulfilled') {
      prepared.push({
        ord,
        input: r.value.input,
        id: newId(),
        passwordHash: r.value.passwordHash,
      });
    } else if (r.reason instanceof DirectoryError) {
      outcomes[ord] = { ok: false, error: r.reason };
    } else throw r.reason;
  }
  if (prepared.length === 0) return outcomes as BatchCreateOutcome[];
  const told = refs.told();
  if (told === 'conflicting') throw new StaleBatch();
  // The rules the memberships are evaluated with, checked in the transaction (INSERT_MANY).
  const set = await memberships.ruleSet(pool, ctx.tenantId);
  const at = new Date();
  const insert: Statement = {
    name: 'users_insert_many',
    text: INSERT_MANY,
    values: [
      ctx.tenantId,
      JSON.stringify(
        prepared.map((p) => ({
          id: p.id,
          user_name: p.input.userName,
          external_id: p.input.externalId,
          status: p.input.status,
          primary_email: primaryEmail(p.input.attrs),
          attrs: p.input.attrs,
          password_hash: p.passwordHash,
          ord: p.ord,
        })),
      ),
      at,
      set.generation,
      told === 'none' ? [] : told.refs.siteCodes,
      told === 'none' ? [] : told.refs.staff,
      told === 'none' ? [] : told.refs.recipients,
      told === 'none' ? null : JSON.stringify(told.facts),
    ],
  };
  const members = batchMembershipStatements(
    set,
    ctx,
    prepared.map((p) => ({
      id: p.id,
      requestId: opts.requestIds?.[p.ord] ?? ctx.requestId,
      audit: { type: 'user.created', before: null, after: auditSnapshot(p.input) },
    })),
  );
  const answers = opts.answers === true;
  // One round trip: the rule lock, the rows, their memberships and audit events, the
  // answers' groups and the commit. Rows that were skipped get no membership or event.
  const results = await transactionInOneTrip(pool, [
    ruleLock(ctx.tenantId, 'shared'),
    insert,
    ...members,
    ...(answers ? answerGroups(prepared.map((p) => p.id)) : []),
  ]);
  const written = results[1]?.rows[0] as
    | { fresh: boolean; known: boolean; ids: string[] }
    | undefined;
  // Nothing was stored when a rule changed since the set was compiled, or something the
  // accounts refer to since they were checked: prepared again.
  if (!written?.fresh) {
    memberships.forget(ctx.tenantId);
    throw new StaleBatch();
  }
  if (!written.known) {
    references.forget(ctx.tenantId);
    throw new StaleBatch();
  }
  const stored = new Set(written.ids);
  const groupsOf = groupsByUser(answers ? results.at(-1) : undefined);
  const created = new Map<string, UserRecord | undefined>(
    prepared
      .filter((p) => stored.has(p.id))
      .map((p) => [
        p.id,
        answers
          ? {
              id: p.id,
              tenantId: ctx.tenantId,
              userName: p.input.userName,
              externalId: p.input.externalId,
              status: p.input.status,
              attrs: p.input.attrs,
              passwordHash: p.passwordHash,
              version: 1,
              createdAt: at,
              updatedAt: at,
              groups: groupsOf.get(p.id) ?? [],
            }
          : undefined,
      ]),
  );
  const skipped = prepared.filter((p) => !created.has(p.id));
  const taken = await takenNames(
    pool,
    ctx.tenantId,
    skipped.map((p) => p.input.userName),
  );
  for (const p of prepared) {
    if (created.has(p.id)) {
      const user = created.get(p.id);
      outcomes[p.ord] = {
        ok: true,
        id: p.id,
        userName: p.input.userName,
        ...(user ? { user } : {}),
      };
    } else {
      const message = taken.has(p.input.userName.toLowerCase())
        ? `userName ${p.input.userName} is already in use`
        : `the primary email ${primaryEmail(p.input.attrs)} is already in use`;
      outcomes[p.ord] = { ok: false, error: new DirectoryError('uniqueness', message) };
    }
  }
  return outcomes as BatchCreateOutcome[];
}

/** Which of `names` are taken in the tenant (lower-cased), in one query. */
async function takenNames(pool: pg.Pool, tenantId: string, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const { rows } = await pool.query<{ name: string }>(
    `select lower(user_name) as name from users
     where tenant_id = $1 and lower(user_name) = any($2::text[]) and status <> 'deleted'`,
    [tenantId, names.map((n) => n.toLowerCase())],
  );
  return new Set(rows.map((r) => r.name));
}

/** One account change of a batch: the id, and the change to apply to the current account. */
export interface BatchUpdate {
  id: string;
  change: (current: UserRecord) => UserInput;
  /** The version the client last saw (If-Match); another current version fails this change. */
  ifMatch?: number | undefined;
  /** The request this change came in, for its audit event (else the context's). */
  requestId?: string | null;
}

/**
 * The outcome of one change of a batch, in the order given; with `answers`, the account as
 * an update answers it (after the change, with its groups when it changed).
 */
export type BatchUpdateOutcome =
  | { ok: true; changed: boolean; user?: UserRecord }
  | { ok: false; error: unknown };

// The batch's rows, locked in id order (as one write locks one) and without blocking the
// key-share locks that group member writes take on their users.
const LOCK_MANY = `
  select * from users u where u.id = any($2::uuid[]) and ${inTenant('u', '$1')} and u.status <> 'deleted'
  order by id for no key update`;

// One statement stores every changed row, with a change event each.
const UPDATE_MANY = `
  with x as (
    select * from jsonb_to_recordset($2::jsonb) as x(id uuid, user_name text, external_id text,
      status text, primary_email text, attrs jsonb, password_hash text)
  ), u as (
    update users set user_name = x.user_name, external_id = x.external_id, status = x.status,
                     primary_email = x.primary_email, attrs = x.attrs,
                     password_hash = coalesce(x.password_hash, users.password_hash),
                     version = users.version + 1, updated_at = $3
    from x where users.tenant_id = $1 and users.id = x.id and users.status <> 'deleted'
    returning users.id, users.version
  ), c as (
    insert into change_events (tenant_id, resource_type, resource_id, operation, version)
    select $1, 'User', id, 'updated', version from u
  )
  select id, version from u`;

/**
 * Changes many accounts in one transaction of two round trips, as `users.update` changes
 * one: under the tenant's rule lock (shared) the rows are locked, each change applied and
 * prepared by the care directory (the access rules included), then the changed rows are
 * stored in one statement and their memberships and audit events in another, compiled
 * from the tenant's cached rule set of the generation read under the lock
 * (user-memberships-batch.ts), with the token follow-ups of status changes, the answers'
 * groups and the commit. A change that is refused fails alone;
 * one that alters nothing writes nothing. Ids must be distinct. A unique violation (a
 * userName or email taken) rolls the whole batch back and is thrown: the caller applies
 * that batch one account at a time, so only the offending rows fail. With `answers`, each
 * outcome carries the account as stored, made of what was sent (coalesced SCIM updates).
 */
export async function updateUsers(
  pool: pg.Pool,
  memberships: UserMemberships,
  ctx: DirectoryContext,
  requested: BatchUpdate[],
  opts: { auditType?: string; answers?: boolean } = {},
): Promise<BatchUpdateOutcome[]> {
  const ids = requested.map((r) => r.id);
  if (new Set(ids).size !== ids.length) throw new Error('updateUsers: ids must be distinct');
  const outcomes: BatchUpdateOutcome[] = new Array(requested.length);
  // The rule lock, the rows and the tenant's rule generation in one round trip; the writes
  // with their memberships, audit events, token follow-ups and answers, and the commit, in
  // a second. The lock comes first, so the reads after it see every rule change committed
  // before it, and none can commit before this transaction does.
  const { tx: batch, results } = await BatchedTransaction.begin(pool, [
    ruleLock(ctx.tenantId, 'shared'),
    INDEXES_ONLY,
    { name: 'users_lock_many', text: LOCK_MANY, values: [ctx.tenantId, ids] },
    SEQSCAN_DEFAULT,
    {
      name: 'tenant_rule_generation',
      text: 'select rule_generation from tenants where id = $1',
      values: [ctx.tenantId],
    },
  ]);
  const tx = batch.queryable;
  let ended = false;
  try {
    const rows = (results[2]?.rows ?? []) as UserRow[];
    const generation = Number(
      (results[4]?.rows[0] as { rule_generation: string } | undefined)?.rule_generation,
    );
    const current = new Map(rows.map((r) => [r.id, userFromRow(r)]));
    const writes: {
      ord: number;
      input: UserInput;
      before: UserRecord;
      passwordHash: string | null;
      requestId: string | null | undefined;
    }[] = [];
    const after: Statement[] = [];
    // Side by side on the transaction's connection, their reference checks one query.
    const lookup = batchedReferenceLookup();
    const actor = batchedAccessActor();
    const ready = await Promise.all(
      requested.map(async (request, i) => {
        const user = current.get(request.id);
        if (!user) {
          outcomes[i] = {
            ok: false,
            error: new DirectoryError('notFound', `user ${request.id} not found`),
          };
          return undefined;
        }
        if (request.ifMatch !== undefined && request.ifMatch !== user.version) {
          outcomes[i] = { ok: false, error: preconditionFailed(user) };
          return undefined;
        }
        let input: UserInput;
        try {
          input = request.change(user);
        } catch (err) {
          outcomes[i] = { ok: false, error: err };
          return undefined;
        }
        try {
          const prepared = await prepareUserWrite(tx, ctx, user, input, { lookup, actor });
          if (!hasChanged(user, prepared.input)) {
            outcomes[i] = { ok: true, changed: false, ...(opts.answers ? { user } : {}) };
            return undefined;
          }
          const next = prepared.input;
          const passwordHash =
            next.password === undefined ? null : await hashPassword(next.password);
          outcomes[i] = { ok: true, changed: true };
          return {
            ord: i,
            input: next,
            before: user,
            passwordHash,
            after: prepared.after ?? [],
            requestId: request.requestId,
          };
        } catch (err) {
          if (!(err instanceof DirectoryError)) throw err;
          outcomes[i] = { ok: false, error: err };
          return undefined;
        }
      }),
    );
    for (const r of ready) {
      if (!r) continue;
      writes.push(r);
      after.push(...r.after);
    }
    if (writes.length === 0) {
      ended = true;
      await batch.commit();
      return outcomes;
    }
    const at = new Date();
    const update: Statement = {
      name: 'users_update_many',
      text: UPDATE_MANY,
      values: [
        ctx.tenantId,
        JSON.stringify(
          writes.map((w) => ({
            id: w.before.id,
            user_name: w.input.userName,
            external_id: w.input.externalId,
            status: w.input.status,
            primary_email: primaryEmail(w.input.attrs),
            attrs: w.input.attrs,
            password_hash: w.passwordHash,
          })),
        ),
        at,
      ],
    };
    const members: BatchMember[] = writes.map((w) => ({
      id: w.before.id,
      leaving: w.before.status === 'active' && w.input.status !== 'active',
      requestId: w.requestId ?? null,
      audit: {
        type: opts.auditType ?? 'user.updated',
        before: auditSnapshot(w.before),
        after: auditSnapshot(w.input),
      },
    }));
    // The rule set of the generation read under the lock: the cached one, or read again.
    const set = await memberships.ruleSet(tx, ctx.tenantId, generation);
    const written = batchMembershipStatements(set, ctx, members);
    ended = true; // commit() ends the transaction whether or not it fails
    // The update is prepared once per connection: it goes after the memberships'
    // INDEXES_ONLY, so its plan reaches the rows by key at any size too.
    const [indexesOnly, ...membershipsAndReset] = written;
    const stored = await batch.commit([
      indexesOnly ?? INDEXES_ONLY,
      update,
      ...membershipsAndReset,
      ...after,
      ...(opts.answers ? answerGroups(writes.map((w) => w.before.id)) : []),
    ]);
    if (opts.answers) {
      const updated = (stored[1]?.rows ?? []) as { id: string; version: number }[];
      const version = new Map(updated.map((r) => [r.id, r.version]));
      const groupsOf = groupsByUser(stored.at(-1));
      for (const w of writes) {
        // Every row was locked, so the update stored each one: no version is a bug here.
        const storedVersion = version.get(w.before.id);
        if (storedVersion === undefined)
          throw new Error(`the batch update answered no version for ${w.before.id}`);
        outcomes[w.ord] = {
          ok: true,
          changed: true,
          user: {
            ...w.before,
            userName: w.input.userName,
            externalId: w.input.externalId,
            status: w.input.status,
            attrs: w.input.attrs,
            passwordHash: w.passwordHash ?? w.before.passwordHash,
            version: storedVersion,
            updatedAt: at,
            groups: groupsOf.get(w.before.id) ?? [],
          },
        };
      }
    }
  } finally {
    if (!ended) await batch.rollback();
  }
  return outcomes;
}

/** The refusal of a change made against another version than the account's (If-Match). */
export function preconditionFailed(user: UserRecord): DirectoryError {
  return new DirectoryError(
    'preconditionFailed',
    `user ${user.id} has changed (version ${user.version})`,
  );
}

const ANSWER_GROUPS = `select u.id, ${userGroupsJSON('u.id')} as groups from unnest($1::uuid[]) as u(id)`;

/**
 * The groups of each of `ids` as a write answers them, in one statement (the last of the
 * two returned): prepared once per connection, and so planned without sequential scans,
 * as the memberships are reached by key at any size.
 */
function answerGroups(ids: string[]): Statement[] {
  return [INDEXES_ONLY, { name: 'users_answer_groups', text: ANSWER_GROUPS, values: [ids] }];
}

function groupsByUser(result: pg.QueryResult | undefined) {
  return new Map(
    ((result?.rows ?? []) as { id: string; groups: unknown }[]).map((g) => [
      g.id,
      groupsFromColumn(g.groups) ?? [],
    ]),
  );
}
