import { isDeepStrictEqual } from 'node:util';
import { inTenant, type Queryable, readByKeys, type Statement } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import type { UserInput, UserRecord, UserStatus } from '../directory/user-record.ts';
import { UUID } from '../directory/uuid.ts';
import {
  type AccessActor,
  checkAccountChange,
  type GrantedCareRole,
  roleRuleApplies,
} from './access-rules.ts';
import {
  CARE_USER_SCHEMA,
  type CareExtension,
  type CareRoleGrant,
  careOf,
  linksOf,
  rolesOf,
  staffMemberIdsOf,
} from './care-extension.ts';
import { entitlementsOf } from './entitlements.ts';

// Attributes only carebridge writes: a PUT that leaves them out keeps them.
const KEPT = ['passwordLastChanged', 'lastAuthenticated', 'systemAdministrator'] as const;

/**
 * Statements the write path sends after the account row is stored, in the same
 * transaction and round trip.
 */
export type AfterWrite = Statement[];

const invalid = (msg: string) => new DirectoryError('invalidValue', msg);

/** The care roles a user's groups grant (`grants` of type careRole), as SQL of the user's id. */
function grantedCareRolesSQL(userId: string): string {
  return `(select coalesce(jsonb_agg(jsonb_build_object('role', g->>'value', 'site', g->>'site')), '[]'::jsonb)
           from group_members m join groups gr on gr.id = m.group_id
           cross join jsonb_array_elements(gr.grants) g
           where m.tenant_id = $1 and m.user_id = ${userId} and g->>'type' = 'careRole')`;
}

/** Who the context's actor is for the access rules; a user actor is read from the database. */
export async function accessActor(db: Queryable, ctx: DirectoryContext): Promise<AccessActor> {
  if (ctx.actor.type === 'system' || ctx.actor.type === 'cli') return { kind: 'system' };
  if (ctx.actor.type !== 'user' || !ctx.actor.id) return { kind: 'client' };
  const { rows } = await db.query<{
    id: string;
    status: UserStatus;
    attrs: Record<string, unknown>;
    granted: GrantedCareRole[];
  }>(
    `select id, status, attrs, ${grantedCareRolesSQL('users.id')} as granted
     from users where tenant_id = $1 and id = $2 and status <> 'deleted'`,
    [ctx.tenantId, ctx.actor.id],
  );
  const row = rows[0];
  if (!row) throw new DirectoryError('forbidden', 'the account behind this token no longer exists');
  return {
    kind: 'user',
    id: row.id,
    status: row.status,
    ext: careOf(row.attrs),
    granted: row.granted,
  };
}

/**
 * {@link accessActor} for a batch of writes by one context (an import by a user): the
 * actor is read once for the batch, not once per row.
 */
export function batchedAccessActor(): typeof accessActor {
  let actor: Promise<AccessActor> | undefined;
  return (db, ctx) => {
    actor ??= accessActor(db, ctx);
    return actor;
  };
}

/** The care roles the target's groups grant, read only when the role rule will decide. */
async function targetGrants(
  db: Queryable,
  ctx: DirectoryContext,
  actor: AccessActor,
  id: string | undefined,
): Promise<GrantedCareRole[]> {
  if (id === undefined || !roleRuleApplies(actor, id)) return [];
  const { rows } = await db.query<{ granted: GrantedCareRole[] }>(
    `select ${grantedCareRolesSQL('$2')} as granted`,
    [ctx.tenantId, id],
  );
  return rows[0]?.granted ?? [];
}

/**
 * Prepares an account write for the care directory: keeps carebridge-only attributes,
 * derives `primarySite`/`primaryCareRole` and the roles from each other, checks sites,
 * programs, staff members and assistant links against the database, computes the
 * read-only entitlements and `status`, applies the access rules, and on deactivation
 * removes the care roles (the audit event's `before` remembers them). Returns the input
 * to store and what to do once it is stored (API tokens follow the account's status).
 */
export async function prepareUserWrite(
  db: Queryable,
  ctx: DirectoryContext,
  current: UserRecord | undefined,
  input: UserInput,
  opts: { lookup?: ReferenceLookup; actor?: typeof accessActor } = {},
): Promise<{ input: UserInput; after: AfterWrite | undefined }> {
  const readActor = opts.actor ?? accessActor;
  const before = current ? careOf(current.attrs) : {};
  const ext = careOf(input.attrs);
  const hadExtension = current !== undefined && CARE_USER_SCHEMA in current.attrs;
  if (!hadExtension && Object.keys(ext).length === 0 && input.password === undefined) {
    // Plain SCIM users stay plain: no reads, no extension (keeps the hot path fast).
    if (ctx.actor.type === 'user') {
      const actor = await readActor(db, ctx);
      checkAccountChange(actor, {
        id: current?.id,
        before: current && { status: current.status, ext: before },
        after: { status: input.status, ext },
        granted: await targetGrants(db, ctx, actor, current?.id),
      });
    }
    return { input, after: tokenFollowUp(ctx, current, input) };
  }
  for (const name of KEPT)
    if (ext[name] === undefined && before[name] !== undefined) ext[name] = before[name];
  if (input.password !== undefined) ext['passwordLastChanged'] = new Date().toISOString();
  reconcilePrimary(ext, before);
  if (input.status === 'inactive' && current && current.status !== 'inactive') {
    delete ext['roles'];
    delete ext['primarySite'];
    delete ext['primaryCareRole'];
  }
  // Who may comes first: a refusal names its rule even when the input is also wrong.
  const actor = await readActor(db, ctx);
  checkAccountChange(actor, {
    id: current?.id,
    before: current && { status: current.status, ext: before },
    after: { status: input.status, ext },
    granted: await targetGrants(db, ctx, actor, current?.id),
  });
  await checkReferences(db, ctx, current?.id, ext, before, opts.lookup);
  computeEntitlements(ext, input.status);
  ext['status'] = input.status;
  return {
    input: { ...input, attrs: { ...input.attrs, [CARE_USER_SCHEMA]: ext } },
    after: tokenFollowUp(ctx, current, input),
  };
}

/** `primarySite` + `primaryCareRole` (what an IdP maps) and `roles` describe one fact. */
function reconcilePrimary(ext: CareExtension, before: CareExtension): void {
  const roles = rolesOf(ext);
  const site = ext['primarySite'];
  const role = ext['primaryCareRole'];
  const simpleChanged = site !== before['primarySite'] || role !== before['primaryCareRole'];
  if (typeof site === 'string' && typeof role === 'string' && simpleChanged) {
    const rest = roles.filter((r) => r.site.toLowerCase() !== site.toLowerCase());
    const old = roles.find((r) => r.site.toLowerCase() === site.toLowerCase());
    ext['roles'] = [{ ...old, site, role } as CareRoleGrant, ...rest];
  } else if (ext['roles'] !== undefined) {
    const first = roles[0];
    if (first) {
      ext['primarySite'] = first.site;
      ext['primaryCareRole'] = first.role;
    } else {
      delete ext['primarySite'];
      delete ext['primaryCareRole'];
    }
  }
}

async function checkReferences(
  db: Queryable,
  ctx: DirectoryContext,
  userId: string | undefined,
  ext: CareExtension,
  before: CareExtension,
  lookup: ReferenceLookup | undefined,
): Promise<void> {
  const roles = rolesOf(ext);
  const links = linksOf(ext);
  const staff = staffMemberIdsOf(ext);
  const siteCodes = new Set<string>();
  for (const r of roles) {
    const key = r.site.toLowerCase();
    if (siteCodes.has(key))
      throw invalid(`a user has one care role per site; ${r.site} is given twice`);
    siteCodes.add(key);
    for (const p of r.programs ?? []) siteCodes.add(p.toLowerCase());
    if (r.defaultProgram !== undefined && !(r.programs ?? []).includes(r.defaultProgram)) {
      throw invalid(
        `the default program ${r.defaultProgram} of ${r.site} is not among its programs`,
      );
    }
  }
  for (const id of [...staff, ...links.map((l) => l.recipient)]) {
    if (!UUID.test(id)) throw invalid(`${id} is not the id of a staff member or user`);
  }
  // A new or reopened link needs the role; links kept while the roles go (deactivation) stay.
  const had = new Map(linksOf(before).map((l) => [l.recipient, l.status]));
  const linking = links.some((l) => {
    const was = had.get(l.recipient);
    return was === undefined || (was === 'removed' && l.status !== 'removed');
  });
  if (linking && !roles.some((r) => r.role === 'assistant')) {
    throw new DirectoryError(
      'forbidden',
      'only a user with the role assistant can be linked to a care recipient',
    );
  }
  if (new Set(links.map((l) => l.recipient)).size !== links.length) {
    throw invalid('an assistant has at most one link per care recipient');
  }
  if (userId !== undefined && links.some((l) => l.recipient === userId)) {
    throw invalid('an assistant cannot be linked to themselves');
  }
  if (siteCodes.size === 0 && staff.length === 0 && links.length === 0) return;
  // References the stored account already has were checked when written, and nothing they
  // name can be deleted while named: a write that keeps them (most writes) reads nothing.
  if (isDeepStrictEqual(referencesOf(ext), referencesOf(before))) {
    if (staff.length > 0) ext['staffMembers'] = before['staffMembers'];
    return;
  }
  // One round trip checks every reference of the write (or of a whole batch of writes).
  const found = await (lookup ?? directReferences)(db, ctx.tenantId, {
    siteCodes: [...siteCodes],
    staff,
    recipients: links.map((l) => l.recipient),
  });
  const sites = new Map((found?.sites ?? []).map((s) => [s.code, s]));
  for (const r of roles) {
    const site = sites.get(r.site.toLowerCase());
    if (site?.kind !== 'site') throw invalid(`there is no site ${r.site}`);
    for (const p of r.programs ?? []) {
      const program = sites.get(p.toLowerCase());
      if (program?.kind !== 'program' || program.parent !== site.code) {
        throw invalid(`${p} is not a program of the site ${r.site}`);
      }
    }
  }
  const staffFound = new Map((found?.staff ?? []).map((s) => [s.id, s.display]));
  for (const id of staff) if (!staffFound.has(id)) throw invalid(`there is no staff member ${id}`);
  if (!found?.multiple && staff.length > 1) {
    throw invalid(
      'this tenant links one staff member per user (multipleStaffMembersPerUser is off)',
    );
  }
  if (staff.length > 0)
    ext['staffMembers'] = staff.map((value) => ({ value, display: staffFound.get(value) }));
  const recipients = new Set(found?.recipients ?? []);
  for (const l of links) {
    if (!recipients.has(l.recipient)) throw invalid(`there is no care recipient ${l.recipient}`);
  }
}

function referencesOf(ext: CareExtension) {
  return {
    roles: rolesOf(ext).map((r) => [r.site.toLowerCase(), r.programs ?? []]),
    staff: staffMemberIdsOf(ext),
    recipients: linksOf(ext).map((l) => l.recipient),
  };
}

/** The computed, read-only entitlements of each link and of the account (seeds table). */
function computeEntitlements(ext: CareExtension, status: UserStatus): void {
  const account = status === 'deleted' ? 'removedUser' : 'present';
  const links = linksOf(ext);
  if (links.length > 0) {
    ext['assistantLinks'] = links.map((l) => {
      const e = entitlementsOf(account === 'present' ? (l.status ?? 'active') : account);
      return {
        recipient: l.recipient,
        status: l.status ?? 'active',
        seesSchedule: e.seesSchedule,
        canBeScheduled: e.canBeScheduled,
        recipientCanApproveTimeReport: e.recipientCanApproveTimeReport,
      };
    });
  }
  const whole = entitlementsOf(account === 'present' ? 'active' : account);
  ext['access'] = {
    // Only an active account signs in (pending, inactive and locked do not).
    canSignIn: whole.canSignIn && status === 'active',
    seesOwnProfile: whole.seesOwnProfile && status === 'active',
    listedAmongStaff: whole.listedAmongStaff,
    remindedToApproveTimeReport: whole.remindedToApproveTimeReport,
  };
}

/**
 * Deactivation suspends the API tokens the user created and revokes the tokens issued to
 * it (its sessions); reactivation lifts the suspension (revoked sessions stay revoked).
 */
function tokenFollowUp(
  ctx: DirectoryContext,
  current: UserRecord | undefined,
  input: UserInput,
): AfterWrite | undefined {
  if (!current || current.status === input.status) return undefined;
  const id = current.id;
  if (input.status === 'inactive' || input.status === 'deleted') {
    return [
      {
        text: `update api_tokens set suspended_at = now()
               where tenant_id = $1 and created_by = $2 and suspended_at is null and revoked_at is null`,
        values: [ctx.tenantId, id],
      },
      {
        text: `update api_tokens set revoked_at = now()
               where tenant_id = $1 and subject_user_id = $2 and revoked_at is null`,
        values: [ctx.tenantId, id],
      },
    ];
  }
  if (
    input.status === 'active' &&
    (current.status === 'inactive' || current.status === 'deleted')
  ) {
    return [
      {
        text: `update api_tokens set suspended_at = null
               where tenant_id = $1 and created_by = $2 and suspended_at is not null`,
        values: [ctx.tenantId, id],
      },
    ];
  }
  return undefined;
}

/**
 * The access rules for a delete into the user bank (status `deleted`); returns the token
 * follow-up the delete needs once stored. A missing account is left to the caller (404).
 */
export async function checkUserDelete(
  db: Queryable,
  ctx: DirectoryContext,
  id: string,
): Promise<AfterWrite> {
  const { rows } = await db.query<{ status: UserStatus; attrs: Record<string, unknown> }>(
    `select status, attrs from users where tenant_id = $1 and id = $2 and status <> 'deleted'`,
    [ctx.tenantId, id],
  );
  const row = rows[0];
  if (row) {
    const ext = careOf(row.attrs);
    const actor = await accessActor(db, ctx);
    checkAccountChange(actor, {
      id,
      before: { status: row.status, ext },
      after: { status: 'deleted', ext },
      granted: await targetGrants(db, ctx, actor, id),
    });
  }
  const follow = row
    ? tokenFollowUp(
        ctx,
        { id, status: row.status } as UserRecord,
        { status: 'deleted' } as UserInput,
      )
    : undefined;
  return follow ?? [];
}

/** What a write names: site and program codes (lower-cased), staff member and recipient ids. */
export interface References {
  siteCodes: string[];
  staff: string[];
  recipients: string[];
}

/** What of {@link References} exists in the tenant, and whether it links many staff members. */
export interface FoundReferences {
  sites: { code: string; kind: string; parent: string | null }[] | null;
  staff: { id: string; display: string }[] | null;
  recipients: string[] | null;
  multiple: boolean;
}

/** Looks references up; a batch of writes shares one (see {@link batchedReferenceLookup}). */
export type ReferenceLookup = (
  db: Queryable,
  tenantId: string,
  refs: References,
) => Promise<FoundReferences>;

const REFERENCES_SQL = `select
   (select jsonb_agg(jsonb_build_object('code', lower(s.attrs->>'code'), 'kind', coalesce(s.attrs->>'kind', 'site'),
                                        'parent', lower(p.attrs->>'code')))
      from sites s left join sites p on p.id = s.parent_id
      where s.tenant_id = $1 and lower(s.attrs->>'code') = any($2::text[])) as sites,
   (select jsonb_agg(jsonb_build_object('id', m.id, 'display', m.display_name))
      from staff_members m where m.id = any($3::uuid[]) and ${inTenant('m', '$1')}) as staff,
   (select array_agg(u.id::text) from users u
      where u.id = any($4::uuid[]) and ${inTenant('u', '$1')} and u.status <> 'deleted') as recipients,
   coalesce((select (settings->>'multipleStaffMembersPerUser')::boolean from tenants where id = $1), false) as multiple`;

const directReferences: ReferenceLookup = async (db, tenantId, refs) => {
  const { rows } = await readByKeys<FoundReferences>(db, {
    name: 'care_references',
    text: REFERENCES_SQL,
    values: [tenantId, refs.siteCodes, refs.staff, refs.recipients],
  });
  return rows[0] as FoundReferences;
};

/**
 * A lookup for the writes of one batch, prepared side by side: the lookups asked for
 * before the event loop turns go to the database as one query over all their references
 * (each write then checks its own against the shared answer).
 */
export function batchedReferenceLookup(): ReferenceLookup {
  let pending:
    | {
        db: Queryable;
        tenantId: string;
        refs: References;
        answer: Promise<FoundReferences>;
      }
    | undefined;
  return (db, tenantId, refs) => {
    if (pending && pending.db === db && pending.tenantId === tenantId) {
      pending.refs.siteCodes.push(...refs.siteCodes);
      pending.refs.staff.push(...refs.staff);
      pending.refs.recipients.push(...refs.recipients);
      return pending.answer;
    }
    const batch = {
      db,
      tenantId,
      refs: {
        siteCodes: [...refs.siteCodes],
        staff: [...refs.staff],
        recipients: [...refs.recipients],
      },
    };
    const answer = new Promise<FoundReferences>((resolve, reject) => {
      setImmediate(() => {
        if (pending?.answer === answer) pending = undefined;
        const unique = (list: string[]) => [...new Set(list)];
        directReferences(db, tenantId, {
          siteCodes: unique(batch.refs.siteCodes),
          staff: unique(batch.refs.staff),
          recipients: unique(batch.refs.recipients),
        }).then(resolve, reject);
      });
    });
    pending = { ...batch, answer };
    return answer;
  };
}
