import type { Context } from 'hono';
import { statementName } from '../db/sql.ts';
import type { GroupRow } from '../directory/group-record.ts';
import { groupFromRow } from '../directory/group-record.ts';
import { groupsFromColumn } from '../directory/user-groups-sql.ts';
import { type UserRow, userFromRow } from '../directory/user-record.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import type { ResourceTypeName } from './attribute-sql.ts';
import { buildListQuery, type ListQueryInput } from './list-query.ts';
import { cachedProjection, type Projection } from './projection.ts';
import { readJSONBody } from './read-body.ts';
import { groupToSCIM, type SCIMResource, userToSCIM } from './representation.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { invalidSyntax, invalidValue, SCIMError } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** The list parameters of RFC 7644 §3.4.2, from a query string or a `.search` body. */
interface ListParams {
  filter?: string | undefined;
  sortBy?: string | undefined;
  sortOrder?: string | undefined;
  startIndex?: number | undefined;
  count?: number | undefined;
  cursor?: string | undefined;
  attributes?: string | string[] | undefined;
  excludedAttributes?: string | string[] | undefined;
}

const parsedQueries = new WeakMap<Request, Record<string, string>>();

/**
 * The request's query parameters, decoded once. Hono decodes the whole query string again
 * for every absent parameter asked for by name once it holds an escape, and a list asks
 * for eight (a filter always holds escapes).
 */
function queryOf(c: Context<AppEnv>): Record<string, string> {
  let query = parsedQueries.get(c.req.raw);
  if (!query) {
    query = c.req.query();
    parsedQueries.set(c.req.raw, query);
  }
  return query;
}

/** The request's `attributes`/`excludedAttributes` projection, compiled once per pair (cachedProjection). */
export function projectionFrom(
  c: Context<AppEnv>,
  registry: SchemaRegistry,
  resourceType: string,
): Projection {
  const query = queryOf(c);
  return cachedProjection(registry, resourceType, query['attributes'], query['excludedAttributes']);
}

function integerParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidValue(`${name} must be an integer`);
  return Number(value);
}

function queryParams(c: Context<AppEnv>): ListParams {
  const query = queryOf(c);
  const q = (name: string): string | undefined => query[name];
  return {
    filter: q('filter'),
    sortBy: q('sortBy'),
    sortOrder: q('sortOrder'),
    startIndex: integerParam('startIndex', q('startIndex')),
    count: integerParam('count', q('count')),
    cursor: q('cursor'),
    attributes: q('attributes'),
    excludedAttributes: q('excludedAttributes'),
  };
}

async function searchParams(c: Context<AppEnv>, maxBytes: number): Promise<ListParams> {
  const body = await readJSONBody(c, maxBytes);
  const schemas = body['schemas'];
  if (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST)) {
    throw invalidSyntax(`a search request must carry the schema ${SEARCH_REQUEST}`);
  }
  const text = (name: string): string | undefined => {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalidValue(`${name} must be a string`);
    return v;
  };
  const int = (name: string): number | undefined => {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw invalidValue(`${name} must be an integer`);
    return v;
  };
  const list = (name: string): string[] | undefined => {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw invalidValue(`${name} must be an array of strings`);
    return v;
  };
  return {
    filter: text('filter'),
    sortBy: text('sortBy'),
    sortOrder: text('sortOrder'),
    startIndex: int('startIndex'),
    count: int('count'),
    cursor: text('cursor'),
    attributes: list('attributes'),
    excludedAttributes: list('excludedAttributes'),
  };
}

/** The extra columns a list page's rows carry (list-query.ts). */
interface ListRowExtras {
  scim_total?: number;
  scim_groups?: unknown;
}

interface Page {
  totalResults: number;
  startIndex: number | undefined;
  resources: SCIMResource[];
  nextCursor?: string | undefined;
}

/** Runs one list query and renders its rows; members and groups load in one query per page. */
async function listPage(
  services: Services,
  tenantId: string,
  resourceType: ResourceTypeName,
  params: ListParams,
): Promise<Page> {
  const { registry, config, directory, db } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const input: ListQueryInput = {
    registry,
    resourceType,
    tenantId,
    filter: params.filter,
    sortBy: params.sortBy,
    sortOrder: params.sortOrder,
    startIndex: params.startIndex,
    count: params.count,
    cursor: params.cursor,
    maxPageSize: config.maxPageSize,
  };
  const projection = cachedProjection(
    registry,
    resourceType,
    params.attributes,
    params.excludedAttributes,
  );
  const withGroups = resourceType === 'User' && projection.needsGroups;
  const query = buildListQuery({ ...input, withTotal: true, withGroups });
  // One round trip for the page, its total and the users' groups; a second only to count
  // behind an empty later page (or for count=0).
  const rows = query.rows
    ? (
        await db.pool.query<UserRow & GroupRow & ListRowExtras>({
          name: query.reusable ? statementName(query.rows.sql) : undefined,
          text: query.rows.sql,
          values: query.rows.params,
        })
      ).rows
    : [];
  const total =
    query.totalFrom(rows) ??
    Number(
      (
        await db.pool.query<{ total: number }>({
          name: statementName(query.total.sql),
          text: query.total.sql,
          values: query.total.params,
        })
      ).rows[0]?.total ?? 0,
    );
  const { resources: found, nextCursor } = query.page(rows);
  let resources: SCIMResource[];
  if (resourceType === 'User') {
    resources = found.map((row) =>
      projection.apply(
        userToSCIM(
          userFromRow(row),
          base,
          withGroups ? groupsFromColumn(row.scim_groups) : undefined,
        ),
      ),
    );
  } else {
    const members = projection.needsMembers
      ? await directory.groups.membersOf(
          tenantId,
          found.map((r) => r.id),
        )
      : undefined;
    resources = found.map((row) =>
      projection.apply(groupToSCIM(groupFromRow(row), base, members?.get(row.id))),
    );
  }
  return {
    totalResults: total,
    startIndex: query.startIndex,
    resources,
    nextCursor,
  };
}

function listResponse(page: Page) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults: page.totalResults,
    ...(page.startIndex === undefined ? {} : { startIndex: page.startIndex }),
    itemsPerPage: page.resources.length,
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    Resources: page.resources,
  };
}

/** `GET /Users`, `GET /Groups`. @see RFC 7644 §3.4.2 */
export function listRoute(services: Services, resourceType: ResourceTypeName) {
  return async (c: Context<AppEnv>) => {
    const page = await listPage(
      services,
      c.get('principal').tenantId,
      resourceType,
      queryParams(c),
    );
    return scimJSON(c, listResponse(page));
  };
}

/** `POST /Users/.search`, `POST /Groups/.search`. @see RFC 7644 §3.4.3 */
export function searchRoute(services: Services, resourceType: ResourceTypeName) {
  return async (c: Context<AppEnv>) => {
    const params = await searchParams(c, services.config.maxPayloadBytes);
    const page = await listPage(services, c.get('principal').tenantId, resourceType, params);
    return scimJSON(c, listResponse(page));
  };
}

/**
 * `POST /.search` at the root: Users then Groups, as one list paged by index. A filter
 * naming an attribute only one type has matches nothing of the other type.
 * @see RFC 7644 §3.4.3
 */
export function rootSearchRoute(services: Services) {
  return async (c: Context<AppEnv>) => {
    const params = await searchParams(c, services.config.maxPayloadBytes);
    if (params.cursor !== undefined)
      throw invalidValue('cursor paging is not offered across resource types');
    if (params.sortBy !== undefined)
      throw invalidValue('sortBy is not offered across resource types');
    const tenantId = c.get('principal').tenantId;
    const startIndex = Math.max(1, params.startIndex ?? 1);
    const count = Math.min(
      Math.max(0, params.count ?? services.config.maxPageSize),
      services.config.maxPageSize,
    );

    const totals = await Promise.all(
      (['User', 'Group'] as const).map(async (rt) => {
        try {
          return (await listPage(services, tenantId, rt, { ...params, count: 0 })).totalResults;
        } catch (err) {
          if (err instanceof SCIMError && err.scimType === 'invalidFilter') return err;
          throw err;
        }
      }),
    );
    const [users, groups] = totals as [number | SCIMError, number | SCIMError];
    if (users instanceof SCIMError && groups instanceof SCIMError) throw users;
    const userTotal = typeof users === 'number' ? users : 0;
    const groupTotal = typeof groups === 'number' ? groups : 0;
    const resources: SCIMResource[] = [];
    if (count > 0 && startIndex <= userTotal) {
      const page = await listPage(services, tenantId, 'User', { ...params, startIndex, count });
      resources.push(...page.resources);
    }
    const left = count - resources.length;
    if (left > 0 && groupTotal > 0 && startIndex + resources.length > userTotal) {
      const groupStart = startIndex + resources.length - userTotal;
      const page = await listPage(services, tenantId, 'Group', {
        ...params,
        startIndex: groupStart,
        count: left,
      });
      resources.push(...page.resources);
    }
    return scimJSON(
      c,
      listResponse({ totalResults: userTotal + groupTotal, startIndex, resources }),
    );
  };
}
