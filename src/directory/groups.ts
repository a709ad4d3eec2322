import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { appendAudit, auditStatement } from '../audit/audit-log.ts';
import { BatchedTransaction, inTenant, type Queryable, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from './actor.ts';
import { DirectoryError } from './directory-error.ts';
import {
  addMembersTogether,
  type GroupChange,
  type GroupUpdateResult,
  onlyAddsMembers,
  type PendingGroupUpdate,
} from './group-member-adds.ts';
import {
  type GroupGrant,
  type GroupInput,
  type GroupMember,
  type GroupRecord,
  type GroupRow,
  groupFromRow,
  groupNotFound,
  type MemberChanges,
  noSuchUsers,
  systemGroupRefused,
} from './group-record.ts';
import { checkGrants, GroupRules } from './group-rules.ts';
import { type CompiledRule, lockRules, ruleLock } from './rule-sql.ts';
import { actorLane, isResourceId } from './users.ts';
import { newId } from './uuid.ts';
import { type Settled, WriteCoalescer } from './write-coalescer.ts';

const NO_CHANGES: MemberChanges = { add: [], remove: [] };

/** A group of a user, with what it grants its members (a "role via group"). */
export interface UserGroup {
  value: string;
  display: string;
  type: 'direct' | 'indirect';
  grants: GroupGrant[];
}

/** Thrown inside a group update that found a rule change it had not locked for. */
class RuleLockNeeded extends Error {}

/**
 * How many batches of member additions of one tenant and actor may be on their way at
 * once. A batch spends most of its time in its insert, on one database connection: with
 * two on their way, an IdP pushing groups keeps two of PostgreSQL's processes busy,
 * whether it pushes many groups or one (batches of one group insert side by side under
 * key-share locks: group-member-adds.ts). Additions take the lanes in turn, so the two
 * batches carry about as many each; lanes by group would leave one idle for one group.
 */
const MEMBER_ADD_LANES = 2;

/** The one write path for groups, their manual memberships and their rules. */
export class GroupDirectory {
  private readonly memberAdds: WriteCoalescer<PendingGroupUpdate, GroupUpdateResult>;
  private memberAddTurn = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly rules: GroupRules = new GroupRules(pool, undefined),
  ) {
    this.memberAdds = new WriteCoalescer({
      lane: ({ ctx }) => `${actorLane(ctx)}\u0000${this.nextMemberAddLane()}`,
      one: ({ ctx, id, change }) => this.updateAlone(ctx, id, change, {}, false),
      many: (items) => this.addMembersOfMany(items),
    });
  }

  private nextMemberAddLane(): number {
    this.memberAddTurn = (this.memberAddTurn + 1) % MEMBER_ADD_LANES;
    return this.memberAddTurn;
  }

  async get(tenantId: string, id: string, db: Queryable = this.pool): Promise<GroupRecord> {
    if (!isResourceId(id)) throw groupNotFound(id);
    const { rows } = await db.query<GroupRow>({
      name: 'group_by_id',
      text: 'select * from groups where tenant_id = $1 and id = $2',
      values: [tenantId, id],
    });
    const row = rows[0];
    if (!row) throw groupNotFound(id);
    return groupFromRow(row);
  }

  /** Creates a group with its first manual members. */
  async create(ctx: DirectoryContext, input: GroupInput, members: string[]): Promise<GroupRecord> {
    const compiled = input.rule ? this.rules.compile(input.rule) : undefined;
    const grants = checkGrants(input.grants ?? []);
    return withTransaction(this.pool, async (tx) => {
      if (compiled) await lockRules(tx, ctx.tenantId, 'exclusive');
      const now = new Date();
      const { rows } = await tx.query<GroupRow>(
        `insert into groups (id, tenant_id, display_name, external_id, attrs, grants, version, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, 1, $7, $7) returning *`,
        [
          newId(),
          ctx.tenantId,
          input.displayName,
          input.externalId,
          input.attrs,
          JSON.stringify(grants),
          now,
        ],
      );
      let group = groupFromRow(rows[0] as GroupRow);
      const added = await addMembers(tx, ctx.tenantId, group.id, members);
      let ruleMembers: number | undefined;
      if (compiled && input.rule) {
        const applied = await this.rules.apply(tx, ctx.tenantId, group.id, {
          text: input.rule,
          compiled,
        });
        ruleMembers = applied.added;
        group = await this.get(ctx.tenantId, group.id, tx);
      }
      await appendAudit(tx, ctx, {
        subjectType: 'group',
        subjectId: group.id,
        type: 'group.created',
        after: { ...input, grants, members: added, ruleMembers },
      });
      await recordChange(tx, ctx.tenantId, group, 'created');
      return group;
    });
  }

  /**
   * Sets (or, with null, removes) a group's rule and re-evaluates it over the whole tenant,
   * set-based. The admin API's door; SCIM reaches the same through `update`.
   */
  async setRule(
    ctx: DirectoryContext,
    id: string,
    rule: string | null,
    opts: { ifMatch?: number | undefined } = {},
  ): Promise<{ group: GroupRecord; changed: boolean }> {
    return this.update(
      ctx,
      id,
      (current) => ({
        input: {
          displayName: current.displayName,
          externalId: current.externalId,
          attrs: current.attrs,
          rule,
        },
      }),
      opts,
    );
  }

  /**
   * Changes a group and its manual members in one transaction; `change` sees the current
   * group and says what to store and which members to add or remove. The group row is locked
   * first, so concurrent member changes queue up and none is lost; members are added and
   * removed set-based. `ifMatch` is the version the client last saw (RFC 7644 §3.14).
   *
   * Updates that only add members, of one tenant and actor, that arrive while one is on its
   * way are sent together (group-member-adds.ts): an IdP pushing a big group 100 members
   * at a time, to one group or many, pays the locks, round trips and commit once per batch.
   */
  async update(
    ctx: DirectoryContext,
    id: string,
    change: GroupChange,
    opts: { ifMatch?: number | undefined; onlyAddsMembers?: boolean } = {},
  ): Promise<GroupUpdateResult> {
    if (!isResourceId(id)) throw groupNotFound(id);
    // The door knows from the request that it only adds members: no first read, the batch
    // applies the change under the group's lock and sends it alone if it does more.
    if (opts.ifMatch === undefined && opts.onlyAddsMembers) {
      return this.memberAdds.submit({ ctx, id, change });
    }
    // A rule change must take the tenant's rule lock before the group row (user writes
    // take it before group rows): guess from an unlocked read, retry locked if wrong.
    const peek = await this.get(ctx.tenantId, id);
    const guess = safely(() => change(peek));
    if (opts.ifMatch === undefined && guess && onlyAddsMembers(peek, guess)) {
      return this.memberAdds.submit({ ctx, id, change });
    }
    return this.updateAlone(ctx, id, change, opts, ruleChanges(peek, guess?.input));
  }

  private async updateAlone(
    ctx: DirectoryContext,
    id: string,
    change: GroupChange,
    opts: { ifMatch?: number | undefined },
    lockFirst: boolean,
  ): Promise<GroupUpdateResult> {
    let lockForRule = lockFirst;
    for (;;) {
      try {
        return await this.updateOnce(ctx, id, change, opts, lockForRule);
      } catch (err) {
        if (!(err instanceof RuleLockNeeded) || lockForRule) throw err;
        lockForRule = true;
      }
    }
  }

  private async addMembersOfMany(
    items: PendingGroupUpdate[],
  ): Promise<Settled<GroupUpdateResult>[]> {
    const outcomes = await addMembersTogether(this.pool, items);
    const settled: Settled<GroupUpdateResult>[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      if (!('alone' in outcome)) {
        settled.push(outcome);
        continue;
      }
      // Its group changed since it was classified: it is sent by itself, after the batch.
      const { ctx, id, change } = items[i] as PendingGroupUpdate;
      try {
        settled.push({ ok: true, value: await this.updateAlone(ctx, id, change, {}, false) });
      } catch (error) {
        settled.push({ ok: false, error });
      }
    }
    return settled;
  }

  private async updateOnce(
    ctx: DirectoryContext,
    id: string,
    change: GroupChange,
    opts: { ifMatch?: number | undefined },
    lockForRule: boolean,
  ): Promise<GroupUpdateResult> {
    // Round trips while the group row is locked are what concurrent member changes of one
    // group queue behind: the lock and the read go in one, the writes and the commit in one.
    const { tx: batch, results } = await BatchedTransaction.begin(this.pool, [
      ...(lockForRule ? [ruleLock(ctx.tenantId, 'exclusive')] : []),
      {
        name: 'group_for_write',
        text: 'select * from groups where tenant_id = $1 and id = $2 for update',
        values: [ctx.tenantId, id],
      },
    ]);
    const tx = batch.queryable;
    let ended = false;
    try {
      const row = results.at(-1)?.rows[0] as GroupRow | undefined;
      if (!row) throw groupNotFound(id);
      const current = groupFromRow(row);
      if (opts.ifMatch !== undefined && opts.ifMatch !== current.version) {
        throw new DirectoryError(
          'preconditionFailed',
          `group ${id} has changed (version ${current.version})`,
        );
      }
      if (current.kind === 'system') {
        throw systemGroupRefused(current, 'edited');
      }
      const { input: next, members: memberChanges = NO_CHANGES } = change(current);
      const ruleChanged = ruleChanges(current, next);
      if (ruleChanged && !lockForRule) throw new RuleLockNeeded();
      // Compiled before anything is written: an invalid rule leaves the group unchanged.
      const compiled: CompiledRule | null | undefined = ruleChanged
        ? next.rule
          ? this.rules.compile(next.rule)
          : null
        : undefined;
      const grants = next.grants === undefined ? current.grants : checkGrants(next.grants);
      // Replacing all members lists the rule members too (a GET sent back as a PUT): they
      // are members already and must not become manual ones that outlive the rule.
      const toAdd =
        memberChanges.remove === 'all'
          ? await withoutAutomaticMembers(tx, id, memberChanges.add)
          : memberChanges.add;
      const removed = await removeMembers(tx, current, memberChanges.remove);
      const added = await addMembers(tx, ctx.tenantId, id, toAdd);
      let ruleMembers: { added: number; removed: number } | undefined;
      if (compiled !== undefined) {
        ruleMembers = await this.rules.apply(
          tx,
          ctx.tenantId,
          id,
          compiled && next.rule ? { text: next.rule, compiled } : null,
        );
      }
      const groupChanged =
        next.displayName !== current.displayName ||
        next.externalId !== current.externalId ||
        !isDeepStrictEqual(next.attrs, current.attrs) ||
        !isDeepStrictEqual(grants, current.grants) ||
        ruleChanged;
      if (!groupChanged && added.length === 0 && removed.length === 0) {
        return { group: current, changed: false };
      }
      const audit = auditStatement(ctx, {
        subjectType: 'group',
        subjectId: id,
        type: 'group.updated',
        before: groupChanged
          ? {
              displayName: current.displayName,
              externalId: current.externalId,
              attrs: current.attrs,
              rule: current.rule,
              grants: current.grants,
            }
          : undefined,
        after: {
          ...(groupChanged ? { ...next, rule: next.rule ?? current.rule, grants } : {}),
          membersAdded: added,
          membersRemoved: removed,
          ...(ruleMembers
            ? { ruleMembersAdded: ruleMembers.added, ruleMembersRemoved: ruleMembers.removed }
            : {}),
        },
      });
      ended = true; // commit() ends the transaction whether or not it fails
      const [updated] = await batch.commit([
        {
          text: `update groups set display_name = $3, external_id = $4, attrs = $5, grants = $6,
                                   version = version + 1, updated_at = $7
                 where tenant_id = $1 and id = $2 returning *`,
          values: [
            ctx.tenantId,
            id,
            next.displayName,
            next.externalId,
            next.attrs,
            JSON.stringify(grants),
            new Date(),
          ],
        },
        audit,
        {
          // After the update in the same transaction: it records the new version.
          text: `insert into change_events (tenant_id, resource_type, resource_id, operation, version)
                 select tenant_id, 'Group', id, 'updated', version from groups
                 where tenant_id = $1 and id = $2`,
          values: [ctx.tenantId, id],
        },
      ]);
      return { group: groupFromRow(updated?.rows[0] as GroupRow), changed: true };
    } finally {
      if (!ended) await batch.rollback();
    }
  }

  /** Deletes a group and its memberships; the audit event keeps what it was. */
  async delete(ctx: DirectoryContext, id: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      // Deleting a rule group changes the tenant's rule set: take the rule lock first.
      const peek = await this.get(ctx.tenantId, id, tx);
      if (peek.rule !== null) await lockRules(tx, ctx.tenantId, 'exclusive');
      const current = await this.get(ctx.tenantId, id, tx);
      if (current.rule !== null && peek.rule === null) {
        throw new DirectoryError('conflict', `group ${id} is being changed by others; try again`);
      }
      if (current.kind === 'system') {
        throw systemGroupRefused(current, 'deleted');
      }
      await tx.query('delete from groups where tenant_id = $1 and id = $2', [ctx.tenantId, id]);
      // No cascading key (migrations/0006): the row lock taken by the delete keeps new
      // manual members out until it commits, and the rule lock rule members.
      await tx.query('delete from group_members where tenant_id = $1 and group_id = $2', [
        ctx.tenantId,
        id,
      ]);
      if (current.rule !== null) {
        await tx.query('update tenants set rule_generation = rule_generation + 1 where id = $1', [
          ctx.tenantId,
        ]);
      }
      await appendAudit(tx, ctx, {
        subjectType: 'group',
        subjectId: id,
        type: 'group.deleted',
        before: {
          displayName: current.displayName,
          externalId: current.externalId,
          attrs: current.attrs,
          rule: current.rule,
          grants: current.grants,
        },
      });
      await recordChange(tx, ctx.tenantId, current, 'deleted');
    });
  }

  /** The members of several groups in one query (lists never query group by group). */
  async membersOf(tenantId: string, groupIds: string[]): Promise<Map<string, GroupMember[]>> {
    const result = new Map<string, GroupMember[]>(groupIds.map((g) => [g, []]));
    if (groupIds.length === 0) return result;
    const { rows } = await this.pool.query<{
      group_id: string;
      user_id: string;
      display: string;
      sources: GroupMember['sources'];
    }>(
      `select gm.group_id, gm.user_id,
              coalesce(u.attrs->>'displayName', u.user_name) as display,
              array_agg(gm.source order by gm.source) as sources
       from group_members gm join users u on u.id = gm.user_id
       where gm.tenant_id = $1 and gm.group_id = any($2::uuid[])
       group by gm.group_id, gm.user_id, u.attrs, u.user_name
       order by gm.group_id, gm.user_id`,
      [tenantId, groupIds],
    );
    for (const row of rows) {
      result
        .get(row.group_id)
        ?.push({ value: row.user_id, display: row.display, sources: row.sources });
    }
    return result;
  }

  /** The groups of several users in one query, for the User `groups` attribute. */
  async groupsOf(tenantId: string, userIds: string[]): Promise<Map<string, UserGroup[]>> {
    const result = new Map<string, UserGroup[]>(userIds.map((u) => [u, []]));
    if (userIds.length === 0) return result;
    const { rows } = await this.pool.query<{
      user_id: string;
      group_id: string;
      display_name: string;
      grants: GroupGrant[];
    }>(
      `select distinct gm.user_id, g.id as group_id, g.display_name, g.grants
       from group_members gm join groups g on g.id = gm.group_id
       where gm.tenant_id = $1 and gm.user_id = any($2::uuid[])
       order by gm.user_id, g.display_name, g.id`,
      [tenantId, userIds],
    );
    for (const row of rows) {
      result.get(row.user_id)?.push({
        value: row.group_id,
        display: row.display_name,
        type: 'direct',
        grants: row.grants,
      });
    }
    return result;
  }
}

/** Adds manual memberships set-based; refuses ids that are not users of the tenant. */
async function addMembers(
  tx: Queryable,
  tenantId: string,
  groupId: string,
  userIds: string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const unique = [...new Set(userIds)];
  const bad = unique.filter((id) => !isResourceId(id));
  if (bad.length > 0) throw noSuchUsers(bad);
  const { rows } = await tx.query<{ id: string; inserted: boolean }>(
    `with wanted as (
       select u.id from users u
       where u.id = any($3::uuid[]) and ${inTenant('u', '$1')} and u.status <> 'deleted'
     ), ins as (
       insert into group_members (tenant_id, group_id, user_id, source)
       select $1, $2, id, 'manual' from wanted
       on conflict do nothing
       returning user_id
     )
     select w.id, exists (select 1 from ins where ins.user_id = w.id) as inserted from wanted w`,
    [tenantId, groupId, unique],
  );
  if (rows.length !== unique.length) {
    const found = new Set(rows.map((r) => r.id));
    const missing = unique.filter((id) => !found.has(id));
    throw noSuchUsers(missing);
  }
  return rows.filter((r) => r.inserted).map((r) => r.id);
}

/**
 * Removes manual memberships set-based; returns the user ids actually removed. Naming a
 * user who is a member only by the group's rule (or as a system member) is refused: such a
 * membership follows the rule, never a hand. `'all'` removes the manual ones only.
 */
async function removeMembers(
  tx: Queryable,
  group: GroupRecord,
  remove: string[] | 'all',
): Promise<string[]> {
  const groupId = group.id;
  if (remove !== 'all') {
    const ids = remove.filter(isResourceId);
    if (ids.length === 0) return [];
    const { rows: automatic } = await tx.query<{ user_id: string; source: string }>(
      `select gm.user_id, gm.source from group_members gm
       where gm.group_id = $1 and gm.user_id = any($2::uuid[]) and gm.source <> 'manual'
         and not exists (select 1 from group_members m
                         where m.group_id = gm.group_id and m.user_id = gm.user_id and m.source = 'manual')
       order by gm.user_id limit 10`,
      [groupId, ids],
    );
    if (automatic.length > 0) {
      const who = automatic.map((r) => r.user_id).join(', ');
      throw new DirectoryError(
        'mutability',
        `${who} ${automatic.length === 1 ? 'is a member' : 'are members'} of "${group.displayName}" by its rule, not by hand, and cannot be removed; change the rule or the user's attributes instead`,
      );
    }
    const { rows } = await tx.query<{ user_id: string }>(
      `delete from group_members where group_id = $1 and source = 'manual' and user_id = any($2::uuid[])
       returning user_id`,
      [groupId, ids],
    );
    return rows.map((r) => r.user_id);
  }
  const { rows } = await tx.query<{ user_id: string }>(
    `delete from group_members where group_id = $1 and source = 'manual' returning user_id`,
    [groupId],
  );
  return rows.map((r) => r.user_id);
}

/** `userIds` less those who are members only by rule or as system members. */
async function withoutAutomaticMembers(
  tx: Queryable,
  groupId: string,
  userIds: string[],
): Promise<string[]> {
  const ids = userIds.filter(isResourceId);
  if (ids.length === 0) return userIds;
  const { rows } = await tx.query<{ user_id: string }>(
    `select user_id from group_members
     where group_id = $1 and user_id = any($2::uuid[])
     group by user_id having bool_and(source <> 'manual')`,
    [groupId, ids],
  );
  if (rows.length === 0) return userIds;
  const automatic = new Set(rows.map((r) => r.user_id));
  return userIds.filter((id) => !automatic.has(id));
}

/** Whether `next` asks for another rule than the group has (undefined keeps it). */
function ruleChanges(current: GroupRecord, next: GroupInput | undefined): boolean {
  if (next?.rule === undefined) return false;
  return (next.rule ?? null) !== current.rule;
}

/** A guess that may fail (a PATCH that does not apply): failing is no rule change. */
function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

async function recordChange(
  tx: Queryable,
  tenantId: string,
  group: GroupRecord,
  operation: 'created' | 'updated' | 'deleted',
): Promise<void> {
  await tx.query(
    `insert into change_events (tenant_id, resource_type, resource_id, operation, version)
     values ($1, 'Group', $2, $3, $4)`,
    [tenantId, group.id, operation, group.version],
  );
}
