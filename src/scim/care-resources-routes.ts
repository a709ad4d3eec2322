import { type Context, Hono } from 'hono';
import { SITE_SCHEMA, STAFF_MEMBER_SCHEMA } from '../care/care-extension.ts';
import type { CareInput, CareRecord, CareRow } from '../care/care-record.ts';
import { careRecordFromRow } from '../care/care-record.ts';
import type { DirectoryContext } from '../directory/actor.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { buildListQuery } from './list-query.ts';
import { applyPatch } from './patch/apply-patch.ts';
import { cachedProjection } from './projection.ts';
import { readJSONBody } from './read-body.ts';
import { etag, type SCIMResource } from './representation.ts';
import { normaliseResource } from './resource-input.ts';
import { directoryContext, ifMatchVersion, notModified } from './scim-context.ts';
import { invalidSyntax, invalidValue } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const NOT_ATTRS = new Set(['schemas', 'id', 'meta', 'externalId', 'displayName', 'users']);

/** What one care resource type needs from the directory. */
interface CareStore {
  get(tenantId: string, id: string): Promise<CareRecord>;
  create(
    ctx: DirectoryContext,
    input: CareInput,
    opts?: { copyFrom?: string },
  ): Promise<CareRecord>;
  update(
    ctx: DirectoryContext,
    id: string,
    change: (current: CareRecord) => CareInput,
    opts: { ifMatch?: number | undefined },
  ): Promise<CareRecord>;
  delete(ctx: DirectoryContext, id: string): Promise<void>;
}

type CareType = 'StaffMember' | 'Site';

/** A staff member or site as SCIM JSON; `extra` adds computed attributes (a staff member's users). */
export function careToSCIM(
  type: CareType,
  r: CareRecord,
  baseUrl: string,
  extra: SCIMResource = {},
): SCIMResource {
  const endpoint = type === 'Site' ? 'Sites' : 'StaffMembers';
  return {
    schemas: [type === 'Site' ? SITE_SCHEMA : STAFF_MEMBER_SCHEMA],
    id: r.id,
    ...(r.externalId === null ? {} : { externalId: r.externalId }),
    displayName: r.displayName,
    ...r.attrs,
    ...extra,
    meta: {
      resourceType: type,
      created: r.createdAt.toISOString(),
      lastModified: r.updatedAt.toISOString(),
      location: `${baseUrl}/${endpoint}/${r.id}`,
      version: etag(r.version),
    },
  };
}

function careInputFromSCIM(resource: SCIMResource): CareInput {
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (!NOT_ATTRS.has(k) && v != null) attrs[k] = v;
  return {
    displayName: resource['displayName'] as string,
    externalId: typeof resource['externalId'] === 'string' ? resource['externalId'] : null,
    attrs,
  };
}

function listParams(c: Context<AppEnv>, body: Record<string, unknown> | undefined) {
  const get = (name: string): string | undefined => {
    const v = body ? body[name] : c.req.query(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw invalidValue(`${name} must be a string`);
    return v;
  };
  const int = (name: string) => {
    const v = get(name);
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v)) throw invalidValue(`${name} must be an integer`);
    return Number(v);
  };
  const list = (name: string) => {
    const v = body ? body[name] : c.req.query(name);
    return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? v : undefined;
  };
  return {
    filter: get('filter'),
    sortBy: get('sortBy'),
    sortOrder: get('sortOrder'),
    startIndex: int('startIndex'),
    count: int('count'),
    cursor: get('cursor'),
    attributes: list('attributes'),
    excludedAttributes: list('excludedAttributes'),
  };
}

/**
 * `/StaffMembers` and `/Sites`: the care directory's own resource types, with the same
 * CRUD, PATCH, filters, sorting and paging in SQL as `/Users` (RFC 7644 §3).
 */
export function careResourceRoutes(services: Services, type: CareType) {
  const { registry, config, db, directory } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const store: CareStore = type === 'Site' ? directory.care.sites : directory.care.staffMembers;
  const app = new Hono<AppEnv>();

  const extras = async (tenantId: string, ids: string[]) =>
    type === 'StaffMember' ? await directory.care.staffMembers.usersOf(tenantId, ids) : undefined;
  const present = async (c: Context<AppEnv>, r: CareRecord) => {
    const projection = cachedProjection(
      registry,
      type,
      c.req.query('attributes'),
      c.req.query('excludedAttributes'),
    );
    const users = (await extras(r.tenantId, [r.id]))?.get(r.id);
    c.header('ETag', etag(r.version));
    return projection.apply(careToSCIM(type, r, base, users ? { users } : {}));
  };

  const list = async (c: Context<AppEnv>, body?: Record<string, unknown>) => {
    const params = listParams(c, body);
    const tenantId = c.get('principal').tenantId;
    const query = buildListQuery({
      registry,
      resourceType: type,
      tenantId,
      ...params,
      maxPageSize: config.maxPageSize,
    });
    const [total, rows] = await Promise.all([
      db.pool.query<{ total: number }>(query.total.sql, query.total.params),
      query.rows ? db.pool.query<CareRow>(query.rows.sql, query.rows.params) : undefined,
    ]);
    const { resources, nextCursor } = query.page(rows?.rows ?? []);
    const projection = cachedProjection(
      registry,
      type,
      params.attributes,
      params.excludedAttributes,
    );
    const users = await extras(
      tenantId,
      resources.map((r) => r.id),
    );
    return scimJSON(c, {
      schemas: [LIST_RESPONSE],
      totalResults: Number(total.rows[0]?.total ?? 0),
      ...(query.startIndex === undefined ? {} : { startIndex: query.startIndex }),
      itemsPerPage: resources.length,
      ...(nextCursor ? { nextCursor } : {}),
      Resources: resources.map((row) => {
        const u = users?.get(row.id);
        return projection.apply(
          careToSCIM(type, careRecordFromRow(row), base, u ? { users: u } : {}),
        );
      }),
    });
  };

  app.get('/', (c) => list(c));
  app.post('/.search', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const schemas = body['schemas'];
    if (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST)) {
      throw invalidSyntax(`a search request must carry the schema ${SEARCH_REQUEST}`);
    }
    return list(c, body);
  });

  app.post('/', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const resource = normaliseResource(registry, type, body, { mode: 'create' });
    const copyFrom = c.req.query('copyFrom');
    const created = await store.create(
      directoryContext(c),
      careInputFromSCIM(resource),
      copyFrom ? { copyFrom } : {},
    );
    c.header('Location', `${base}/${type === 'Site' ? 'Sites' : 'StaffMembers'}/${created.id}`);
    return scimJSON(c, await present(c, created), 201);
  });

  app.get('/:id', async (c) => {
    const r = await store.get(c.get('principal').tenantId, c.req.param('id'));
    if (notModified(c, r.version)) {
      c.header('ETag', etag(r.version));
      return c.body(null, 304);
    }
    return scimJSON(c, await present(c, r));
  });

  app.put('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const ctx = directoryContext(c);
    const current = await store.get(ctx.tenantId, c.req.param('id'));
    const resource = normaliseResource(registry, type, body, {
      mode: 'replace',
      current: careToSCIM(type, current, base),
    });
    const updated = await store.update(ctx, current.id, () => careInputFromSCIM(resource), {
      ifMatch: ifMatchVersion(c),
    });
    return scimJSON(c, await present(c, updated));
  });

  app.patch('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const updated = await store.update(
      directoryContext(c),
      c.req.param('id'),
      (current) =>
        careInputFromSCIM(
          applyPatch(registry, type, careToSCIM(type, current, base), body).resource,
        ),
      { ifMatch: ifMatchVersion(c) },
    );
    return scimJSON(c, await present(c, updated));
  });

  app.delete('/:id', async (c) => {
    await store.delete(directoryContext(c), c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
