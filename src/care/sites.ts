import type pg from 'pg';
import { type Queryable, uniqueViolation, withTransaction } from '../db/sql.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { fenceUserWrites } from '../directory/rule-sql.ts';
import { newId, UUID } from '../directory/uuid.ts';
import { checkCareAdmin } from './access-rules.ts';
import { CARE_USER_SCHEMA } from './care-extension.ts';
import {
  type CareInput,
  type CareRecord,
  type CareRow,
  careRecordFromRow,
  careSnapshot,
  lockCareRecord,
  recordCareChange,
} from './care-record.ts';
import { accessActor } from './user-care.ts';

const CODE = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

const invalid = (m: string) => new DirectoryError('invalidValue', m);
const notFound = (id: string) => new DirectoryError('notFound', `site ${id} not found`);

const codeOf = (r: { attrs: Record<string, unknown> }) => String(r.attrs['code'] ?? '');
const kindOf = (r: { attrs: Record<string, unknown> }) =>
  r.attrs['kind'] === 'program' ? 'program' : 'site';

/**
 * Sites (centres of care) and the programs beneath them: a tree of two levels, each node
 * with a `code` unique per tenant that care roles and staff members refer to. Every write
 * runs in one transaction with its audit and change events.
 */
export class Sites {
  constructor(private readonly pool: pg.Pool) {}

  async get(tenantId: string, id: string, db: Queryable = this.pool): Promise<CareRecord> {
    if (!UUID.test(id)) throw notFound(id);
    const { rows } = await db.query<CareRow>(
      'select * from sites where tenant_id = $1 and id = $2',
      [tenantId, id],
    );
    if (!rows[0]) throw notFound(id);
    return careRecordFromRow(rows[0]);
  }

  /** Creates a site, or a program under the site its `parent` code names. */
  async create(ctx: DirectoryContext, input: CareInput): Promise<CareRecord> {
    return withTransaction(this.pool, async (db) => {
      checkCareAdmin(await accessActor(db, ctx), 'sites');
      const attrs = { kind: 'site', active: true, ...input.attrs };
      const parentId = await this.parentId(db, ctx.tenantId, { ...input, attrs });
      const now = new Date();
      const row = await insertOrExplain(db, attrs, () =>
        db.query<CareRow>(
          `insert into sites (id, tenant_id, parent_id, display_name, external_id, attrs, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $7) returning *`,
          [newId(), ctx.tenantId, parentId, input.displayName, input.externalId, attrs, now],
        ),
      );
      const site = careRecordFromRow(row);
      await recordCareChange(db, ctx, {
        subjectType: 'site',
        subjectId: site.id,
        type: 'site.created',
        after: careSnapshot(site),
        resourceType: 'Site',
        operation: 'created',
        version: site.version,
      });
      return site;
    });
  }

  /** Applies `change`; the code is immutable, and a site with programs stays a site. */
  async update(
    ctx: DirectoryContext,
    id: string,
    change: (current: CareRecord) => CareInput,
    opts: { ifMatch?: number | undefined } = {},
  ): Promise<CareRecord> {
    return withTransaction(this.pool, async (db) => {
      checkCareAdmin(await accessActor(db, ctx), 'sites');
      const current = await lockCareRecord(db, 'sites', ctx.tenantId, id, {
        noun: 'site',
        ifMatch: opts.ifMatch,
      });
      const next = change(current);
      const attrs: Record<string, unknown> = { ...next.attrs, kind: next.attrs['kind'] ?? 'site' };
      if (String(attrs['code'] ?? '').toLowerCase() !== codeOf(current).toLowerCase()) {
        throw new DirectoryError(
          'mutability',
          `the code of a site is immutable (${codeOf(current)})`,
        );
      }
      const parentId = await this.parentId(db, ctx.tenantId, { ...next, attrs });
      if (kindOf({ attrs }) === 'program' && kindOf(current) === 'site') {
        const { rows: children } = await db.query(
          'select 1 from sites where parent_id = $1 limit 1',
          [id],
        );
        if (children.length > 0)
          throw invalid(`site ${codeOf(current)} has programs, so it stays a site`);
      }
      const { rows: updated } = await db.query<CareRow>(
        `update sites set parent_id = $3, display_name = $4, external_id = $5, attrs = $6,
                          version = version + 1, updated_at = now()
         where tenant_id = $1 and id = $2 returning *`,
        [ctx.tenantId, id, parentId, next.displayName, next.externalId, attrs],
      );
      const site = careRecordFromRow(updated[0] as CareRow);
      await recordCareChange(db, ctx, {
        subjectType: 'site',
        subjectId: id,
        type: 'site.updated',
        before: careSnapshot(current),
        after: careSnapshot(site),
        resourceType: 'Site',
        operation: 'updated',
        version: site.version,
      });
      return site;
    });
  }

  /** Deletes a site nobody refers to: no programs, no staff member, no care role. */
  async delete(ctx: DirectoryContext, id: string): Promise<void> {
    await withTransaction(this.pool, async (db) => {
      checkCareAdmin(await accessActor(db, ctx), 'sites');
      // Users written meanwhile, or prepared before and sent after, cannot keep a reference to it.
      await fenceUserWrites(db, ctx.tenantId);
      const site = await this.get(ctx.tenantId, id, db);
      const code = codeOf(site);
      const { rows } = await db.query<{ programs: boolean; staff: boolean; users: boolean }>(
        `select exists (select 1 from sites where parent_id = $2) as programs,
                exists (select 1 from staff_members where tenant_id = $1
                          and attrs @> jsonb_build_object('centresOfCare', jsonb_build_array($3::text))) as staff,
                exists (select 1 from users u, jsonb_array_elements(
                          case when jsonb_typeof(u.attrs->$4->'roles') = 'array' then u.attrs->$4->'roles' else '[]' end) r(v)
                          where u.tenant_id = $1 and u.status <> 'deleted'
                            and (lower(r.v->>'site') = lower($3) or r.v->'programs' ? $3)) as users`,
        [ctx.tenantId, id, code, CARE_USER_SCHEMA],
      );
      const used = rows[0];
      if (used?.programs)
        throw new DirectoryError('conflict', `site ${code} has programs; delete them first`);
      if (used?.staff)
        throw new DirectoryError('conflict', `site ${code} is a centre of care of staff members`);
      if (used?.users)
        throw new DirectoryError('conflict', `site ${code} is named in users' care roles`);
      await db.query('delete from sites where tenant_id = $1 and id = $2', [ctx.tenantId, id]);
      await recordCareChange(db, ctx, {
        subjectType: 'site',
        subjectId: id,
        type: 'site.deleted',
        before: careSnapshot(site),
        resourceType: 'Site',
        operation: 'deleted',
        version: null,
      });
    });
  }

  /**
   * Clones a site: a new code and name, the same forms, and every staff member of the
   * source becomes staff of the clone too (one set-based statement, audited per staff member).
   */
  async clone(
    ctx: DirectoryContext,
    sourceId: string,
    input: { code: string; displayName: string },
  ): Promise<CareRecord> {
    const source = await this.get(ctx.tenantId, sourceId);
    const site = await this.create(ctx, {
      displayName: input.displayName,
      externalId: null,
      attrs: { ...source.attrs, code: input.code },
    });
    await withTransaction(this.pool, async (db) => {
      await db.query(
        `with s as (
           update staff_members set attrs = jsonb_set(attrs, '{centresOfCare}', (attrs->'centresOfCare') || to_jsonb($3::text)),
                                    version = version + 1, updated_at = now()
           where tenant_id = $1 and attrs @> jsonb_build_object('centresOfCare', jsonb_build_array($2::text))
           returning id, version
         ), a as (
           insert into audit_events (tenant_id, actor_type, actor_id, subject_type, subject_id, type, after, request_id, staff_member_id)
           select $1, $4, $5, 'staff_member', id, 'staffMember.updated',
                  jsonb_build_object('centresOfCare', jsonb_build_object('added', $3::text)), $6, id from s
         )
         insert into change_events (tenant_id, resource_type, resource_id, operation, version)
         select $1, 'StaffMember', id, 'updated', version from s`,
        [ctx.tenantId, codeOf(source), input.code, ctx.actor.type, ctx.actor.id, ctx.requestId],
      );
    });
    return site;
  }

  private async parentId(
    db: Queryable,
    tenantId: string,
    input: CareInput,
  ): Promise<string | null> {
    const code = input.attrs['code'];
    if (typeof code !== 'string' || !CODE.test(code)) {
      throw invalid('a site code is 1-63 letters, digits, ".", "-" or "_"');
    }
    const parent = input.attrs['parent'];
    if (kindOf(input) === 'site') {
      if (parent !== undefined)
        throw invalid('a site has no parent; only a program sits under a site');
      return null;
    }
    if (typeof parent !== 'string') throw invalid('a program needs the code of its parent site');
    const { rows } = await db.query<{ id: string; kind: string | null }>(
      `select id, attrs->>'kind' as kind from sites where tenant_id = $1 and lower(attrs->>'code') = lower($2)`,
      [tenantId, parent],
    );
    const found = rows[0];
    if (!found || found.kind === 'program')
      throw invalid(`there is no site ${parent} to hold a program`);
    return found.id;
  }
}

async function insertOrExplain(
  _db: Queryable,
  attrs: Record<string, unknown>,
  insert: () => Promise<{ rows: CareRow[] }>,
): Promise<CareRow> {
  try {
    const { rows } = await insert();
    return rows[0] as CareRow;
  } catch (err) {
    if (uniqueViolation(err))
      throw new DirectoryError(
        'uniqueness',
        `the site code ${String(attrs['code'])} is already in use`,
      );
    throw err;
  }
}
