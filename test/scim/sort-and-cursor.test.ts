import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cursorBinding, decodeCursor, encodeCursor } from '../../src/scim/cursor.ts';
import { buildListQuery, type ListQueryInput } from '../../src/scim/list-query.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';
import { SCIMError } from '../../src/scim/scim-error.ts';
import { sortToSQL } from '../../src/scim/sort-sql.ts';
import { insertGroup, insertTenant, insertUser } from '../helpers/directory-rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const registry = createSchemaRegistry();

function expectSCIMError(fn: () => unknown, scimType: string, detail?: RegExp) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SCIMError);
    expect((err as SCIMError).status).toBe(400);
    expect((err as SCIMError).scimType).toBe(scimType);
    if (detail) expect((err as SCIMError).detail).toMatch(detail);
    return;
  }
  throw new Error('expected a SCIMError');
}

describe('sortToSQL', () => {
  const sort = (sortBy?: string, sortOrder?: string) =>
    sortToSQL(registry, 'User', sortBy, sortOrder, { alias: 'u' });

  it('Should sort by id alone when no sortBy is given', () => {
    expect(sort().orderBy).toBe('u.id ASC');
    expect(sort(undefined, 'descending').orderBy).toBe('u.id ASC');
    expect(sort('id', 'descending').orderBy).toBe('u.id DESC');
  });

  it('Should sort strings case-insensitively with id as the last key', () => {
    expect(sort('userName').orderBy).toBe('lower(u.user_name) ASC NULLS LAST, u.id ASC');
    expect(sort('USERNAME', 'Descending').orderBy).toBe(
      'lower(u.user_name) DESC NULLS FIRST, u.id DESC',
    );
    expect(sort('externalId').orderBy).toBe('u.external_id ASC NULLS LAST, u.id ASC');
  });

  it('Should sort by sub-attributes, dates, extension attributes and the primary email', () => {
    expect(sort('name.familyName').expr).toBe("lower((u.attrs->'name'->>'familyName'))");
    expect(sort('meta.lastModified').expr).toBe('u.updated_at');
    expect(sort('meta.lastModified').valueType).toBe('timestamptz');
    expect(sort(`${ENTERPRISE}:employeeNumber`).expr).toContain(
      `u.attrs->'${ENTERPRISE}'->>'employeeNumber'`,
    );
    expect(sort('emails').expr).toBe('lower(u.primary_email)');
    expect(sort('emails.value').expr).toBe('lower(u.primary_email)');
    expect(sort('phoneNumbers.value').expr).toMatch(
      /ORDER BY coalesce\(.*'primary' = 'true'::jsonb, false\) DESC/,
    );
  });

  it.each([
    ['shoeSize', /unknown attribute/],
    ['name', /complex/],
    ['password', /write-only/],
    ['groups', /cannot be sorted/],
    ['meta.location', /meta.location/],
  ])('Should refuse sortBy=%s with invalidValue', (sortBy, detail) => {
    expectSCIMError(() => sort(sortBy), 'invalidValue', detail);
  });

  it('Should refuse a sortOrder other than ascending or descending', () => {
    expectSCIMError(() => sort('userName', 'down'), 'invalidValue', /sortOrder/);
  });

  it('Should refuse sorting groups by members', () => {
    expectSCIMError(
      () => sortToSQL(registry, 'Group', 'members', undefined, { alias: 'g' }),
      'invalidValue',
    );
  });
});

describe('cursors', () => {
  const spec = sortToSQL(registry, 'User', 'meta.lastModified', undefined, { alias: 'u' });
  const binding = cursorBinding('User', 'active eq true', spec);
  const id = randomUUID();

  it('Should round-trip a position', () => {
    const key = '2024-06-01T10:00:00.123456Z';
    const cursor = encodeCursor({ key, id }, binding);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, binding, spec)).toEqual({ key, id });
  });

  it.each([
    ['not base64!'],
    ['aGVsbG8'],
    [Buffer.from('{"v":1}').toString('base64url')],
    [Buffer.from(JSON.stringify({ v: 1, q: binding, k: null, i: 'nope' })).toString('base64url')],
    [
      Buffer.from(JSON.stringify({ v: 1, q: binding, k: 'yesterday', i: id })).toString(
        'base64url',
      ),
    ],
    [Buffer.from(JSON.stringify({ v: 2, q: binding, k: null, i: id })).toString('base64url')],
    ['A'.repeat(10_000)],
  ])('Should refuse the garbled cursor %#', (cursor) => {
    expectSCIMError(() => decodeCursor(cursor, binding, spec), 'invalidCursor');
  });

  it('Should refuse a cursor issued for another filter or sort', () => {
    const cursor = encodeCursor({ key: '2024-06-01T10:00:00.123456Z', id }, binding);
    const otherFilter = cursorBinding('User', 'active eq false', spec);
    expectSCIMError(
      () => decodeCursor(cursor, otherFilter, spec),
      'invalidCursor',
      /different query/,
    );
    const byName = sortToSQL(registry, 'User', 'userName', undefined, { alias: 'u' });
    expectSCIMError(
      () => decodeCursor(cursor, cursorBinding('User', 'active eq true', byName), byName),
      'invalidCursor',
    );
  });
});

describe('buildListQuery: SQL shape', () => {
  const base: ListQueryInput = {
    registry,
    resourceType: 'User',
    tenantId: randomUUID(),
    maxPageSize: 100,
  };

  it('Should scope to the tenant, hide deleted users and page by index', () => {
    const q = buildListQuery({ ...base, filter: 'userName eq "a"', startIndex: 21, count: 10 });
    expect(q.rows?.sql).toBe(
      "SELECT u.* FROM users u WHERE u.tenant_id = $1 AND u.status <> 'deleted' AND (lower(u.user_name) = lower($2::text)) ORDER BY u.id ASC LIMIT 10 OFFSET 20",
    );
    // LIMIT and OFFSET are in the text (so PostgreSQL can keep a generic plan); a later
    // page is not worth a prepared statement, a first one is.
    expect(q.rows?.params).toEqual([base.tenantId, 'a']);
    expect(q.reusable).toBe(false);
    const first = buildListQuery({ ...base, filter: 'userName eq "a"', count: 10 });
    expect(first.rows?.sql).toMatch(/ LIMIT 10$/);
    expect(first.reusable).toBe(true);
    expect(q.total).toEqual({
      sql: "SELECT count(*) AS total FROM users u WHERE u.tenant_id = $1 AND u.status <> 'deleted' AND (lower(u.user_name) = lower($2::text))",
      params: [base.tenantId, 'a'],
    });
    expect(q.startIndex).toBe(21);
  });

  it('Should clamp count, treat negatives as 0 and startIndex below 1 as 1', () => {
    expect(buildListQuery({ ...base, count: 5000 }).count).toBe(100);
    expect(buildListQuery({ ...base }).count).toBe(100);
    expect(buildListQuery({ ...base, count: -3 }).count).toBe(0);
    expect(buildListQuery({ ...base, startIndex: -7 }).startIndex).toBe(1);
  });

  it('Should only count when count is 0', () => {
    const q = buildListQuery({ ...base, count: 0 });
    expect(q.rows).toBeUndefined();
    expect(q.total.sql).toContain('count(*)');
  });

  it('Should ignore a blank filter and refuse a bad count', () => {
    expect(buildListQuery({ ...base, filter: '  ' }).total.params).toEqual([base.tenantId]);
    expectSCIMError(() => buildListQuery({ ...base, count: Number.NaN }), 'invalidValue');
  });

  it('Should fetch one row more in cursor mode, with the sort key, and no offset', () => {
    const q = buildListQuery({ ...base, cursor: '', count: 10, sortBy: 'meta.lastModified' });
    expect(q.rows?.sql).toContain(
      `to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS scim_sort_key`,
    );
    expect(q.rows?.sql).not.toContain('OFFSET');
    expect(q.rows?.sql).toMatch(/ LIMIT 11$/);
    expect(q.startIndex).toBeUndefined();
  });

  it('Should refuse startIndex with a cursor, and a garbled cursor', () => {
    expectSCIMError(() => buildListQuery({ ...base, cursor: '', startIndex: 5 }), 'invalidValue');
    expectSCIMError(() => buildListQuery({ ...base, cursor: 'garbage' }), 'invalidCursor');
  });

  it('Should list groups from their table', () => {
    const q = buildListQuery({ ...base, resourceType: 'Group', sortBy: 'displayName', count: 5 });
    expect(q.rows?.sql).toBe(
      'SELECT g.* FROM groups g WHERE g.tenant_id = $1 AND TRUE ORDER BY lower(g.display_name) ASC NULLS LAST, g.id ASC LIMIT 5',
    );
  });
});

describe('buildListQuery: on the database', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let tenant: string;
  const byName = new Map<string, string>();
  const nameOf = new Map<string, string>();

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = database.db.pool;
    tenant = await insertTenant(pool, 'north');
    const other = await insertTenant(pool, 'south');
    const add = async (
      userName: string,
      family: string | undefined,
      extra: Record<string, unknown>,
      updated: string,
    ) => {
      const attrs = { ...(family === undefined ? {} : { name: { familyName: family } }), ...extra };
      const id = await insertUser(pool, tenant, {
        userName,
        attrs,
        createdAt: updated,
        updatedAt: updated,
      });
      byName.set(userName, id);
      nameOf.set(id, userName);
    };
    const email = (...values: [string, boolean?][]) => ({
      emails: values.map(([value, primary]) => ({ value, ...(primary ? { primary } : {}) })),
    });
    await add('u1', 'Smith', email(['zed@x.org'], ['amy@x.org', true]), '2024-01-05T00:00:00Z');
    await add('u2', 'adams', email(['bea@x.org']), '2024-01-03T00:00:00Z');
    await add(
      'u3',
      undefined,
      { [ENTERPRISE]: { employeeNumber: '20' } },
      '2024-01-01T00:00:00.000001Z',
    );
    await add(
      'u4',
      'smith',
      { ...email(['Carl@x.org']), [ENTERPRISE]: { employeeNumber: '3' } },
      '2024-01-02T00:00:00Z',
    );
    await add('u5', 'Baker', {}, '2024-01-04T00:00:00Z');
    await add('u6', undefined, email(['dan@x.org', true]), '2024-01-01T00:00:00Z');
    await insertUser(pool, tenant, {
      userName: 'gone',
      status: 'deleted',
      attrs: { name: { familyName: 'Aaron' } },
    });
    await insertUser(pool, other, {
      userName: 'elsewhere',
      attrs: { name: { familyName: 'Aaron' } },
    });
    await insertGroup(pool, tenant, { displayName: 'b-team' });
    await insertGroup(pool, tenant, { displayName: 'A-team' });
  });

  afterAll(async () => {
    await database.drop();
  });

  async function list(input: Partial<ListQueryInput>) {
    const q = buildListQuery({
      registry,
      resourceType: 'User',
      tenantId: tenant,
      maxPageSize: 50,
      ...input,
    });
    const total = (await pool.query<{ total: number }>(q.total.sql, q.total.params)).rows[0]?.total;
    const rows = q.rows ? (await pool.query<{ id: string }>(q.rows.sql, q.rows.params)).rows : [];
    const page = q.page(rows);
    return {
      total,
      names: page.resources.map((r) => nameOf.get(r.id) ?? r.id),
      nextCursor: page.nextCursor,
    };
  }

  /** Same-key rows come in id order: the expected order breaks ties the way the database does. */
  const byId = (...names: string[]) =>
    names.sort((a, b) => ((byName.get(a) as string) < (byName.get(b) as string) ? -1 : 1));

  it('Should sort a sub-attribute case-insensitively, missing values last ascending', async () => {
    const { names } = await list({ sortBy: 'name.familyName' });
    expect(names).toEqual(['u2', 'u5', ...byId('u1', 'u4'), ...byId('u3', 'u6')]);
  });

  it('Should put missing values first when descending, ties in reverse id order', async () => {
    const { names } = await list({ sortBy: 'name.familyName', sortOrder: 'descending' });
    expect(names).toEqual([
      ...byId('u3', 'u6').reverse(),
      ...byId('u1', 'u4').reverse(),
      'u5',
      'u2',
    ]);
  });

  it('Should sort by the primary email, else the first one', async () => {
    const { names } = await list({ sortBy: 'emails' });
    expect(names).toEqual(['u1', 'u2', 'u4', 'u6', ...byId('u3', 'u5')]);
  });

  it('Should sort by dates to the microsecond and by extension attributes', async () => {
    expect((await list({ sortBy: 'meta.lastModified' })).names).toEqual([
      'u6',
      'u3',
      'u4',
      'u2',
      'u5',
      'u1',
    ]);
    const { names } = await list({ sortBy: `${ENTERPRISE}:employeeNumber` });
    expect(names.slice(0, 2)).toEqual(['u3', 'u4']); // text order: "20" < "3"
  });

  it('Should page by startIndex and count, totals counting the whole match', async () => {
    const all = (await list({ sortBy: 'userName' })).names;
    expect(all).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    expect(await list({ sortBy: 'userName', startIndex: 3, count: 2 })).toMatchObject({
      total: 6,
      names: ['u3', 'u4'],
    });
    expect(await list({ sortBy: 'userName', startIndex: 6, count: 5 })).toMatchObject({
      total: 6,
      names: ['u6'],
    });
    expect(await list({ startIndex: 10, count: 5 })).toMatchObject({ total: 6, names: [] });
    expect(await list({ count: 0, filter: 'name.familyName eq "SMITH"' })).toMatchObject({
      total: 2,
      names: [],
    });
  });

  it('Should list groups by displayName, case-insensitively', async () => {
    const q = buildListQuery({
      registry,
      resourceType: 'Group',
      tenantId: tenant,
      maxPageSize: 10,
      sortBy: 'displayName',
    });
    const { rows } = await pool.query<{ display_name: string }>(
      q.rows?.sql as string,
      q.rows?.params,
    );
    expect(rows.map((r) => r.display_name)).toEqual(['A-team', 'b-team']);
  });

  it.each<[string, Partial<ListQueryInput>]>([
    ['the default order', {}],
    ['familyName ascending', { sortBy: 'name.familyName' }],
    ['familyName descending', { sortBy: 'name.familyName', sortOrder: 'descending' }],
    ['lastModified ascending', { sortBy: 'meta.lastModified' }],
    ['userName descending', { sortBy: 'userName', sortOrder: 'descending' }],
    [
      'employeeNumber, a filter',
      { sortBy: `${ENTERPRISE}:employeeNumber`, filter: 'not (userName eq "w-3")' },
    ],
  ])(
    'Should walk by cursor through %s and miss no row that existed at the start, while others write',
    async (_, sort) => {
      const walkTenant = await insertTenant(pool, `walk-${randomUUID()}`);
      const families = ['north', 'South', 'east', undefined, 'west', 'NORTH'];
      let n = 0;
      const addUser = (updatedAt: Date) => {
        n++;
        const family = families[n % families.length];
        return insertUser(pool, walkTenant, {
          userName: `w-${n}`,
          attrs: {
            ...(family === undefined ? {} : { name: { familyName: family } }),
            ...(n % 4 === 0 ? {} : { [ENTERPRISE]: { employeeNumber: String(n % 9) } }),
          },
          createdAt: updatedAt.toISOString(),
          updatedAt: updatedAt.toISOString(),
        });
      };
      const original: string[] = [];
      for (let i = 0; i < 90; i++)
        original.push(await addUser(new Date(Date.UTC(2024, 0, 1, 0, 0, i % 30))));

      const seen: string[] = [];
      const deleted = new Set<string>();
      let cursor = '';
      for (let pages = 0; pages < 100; pages++) {
        const q = buildListQuery({
          registry,
          resourceType: 'User',
          tenantId: walkTenant,
          maxPageSize: 7,
          cursor,
          ...sort,
        });
        const { rows } = await pool.query<{ id: string }>(q.rows?.sql as string, q.rows?.params);
        const page = q.page(rows);
        expect(page.resources.length).toBeLessThanOrEqual(7);
        seen.push(...page.resources.map((r) => r.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
        // Between pages: two new users, one unseen original and one seen user deleted.
        await addUser(new Date());
        await addUser(new Date(Date.UTC(2023, 0, 1)));
        const unseen = original.filter((id) => !seen.includes(id) && !deleted.has(id));
        const victims = [unseen[Math.floor(unseen.length / 2)], seen[0]].filter(
          (v): v is string => !!v,
        );
        for (const victim of victims) deleted.add(victim);
        await pool.query(`update users set status = 'deleted' where id = any($1::uuid[])`, [
          victims,
        ]);
      }
      expect(new Set(seen).size).toBe(seen.length);
      const excluded = new Set(sort.filter ? [original[2]] : []);
      const missed = original.filter(
        (id) => !seen.includes(id) && !deleted.has(id) && !excluded.has(id),
      );
      expect(missed).toEqual([]);
    },
  );

  it('Should refuse a cursor replayed with another sort', async () => {
    const first = await list({ cursor: '', count: 2, sortBy: 'userName' });
    expect(first.names).toEqual(['u1', 'u2']);
    const second = await list({ cursor: first.nextCursor, count: 2, sortBy: 'userName' });
    expect(second.names).toEqual(['u3', 'u4']);
    await expect(
      list({ cursor: first.nextCursor, count: 2, sortBy: 'meta.lastModified' }),
    ).rejects.toMatchObject({
      scimType: 'invalidCursor',
    });
  });
});
