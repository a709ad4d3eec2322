import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

let t: TestApp;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp({ maxPageSize: 50 });
  const people = [
    {
      userName: 'astrid@north.example',
      title: 'Nurse',
      emails: [{ type: 'work', value: 'astrid@north.example' }],
      dept: 'Night',
    },
    {
      userName: 'bertil@north.example',
      title: 'Assistant',
      emails: [{ type: 'home', value: 'bertil@home.example' }],
      dept: 'Day',
    },
    {
      userName: 'cecilia@south.example',
      title: 'Nurse',
      emails: [{ type: 'work', value: 'cecilia@south.example' }],
      dept: 'Night',
    },
    { userName: 'david@south.example', emails: [], dept: 'Day' },
  ];
  for (const p of people) {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: [USER, ENTERPRISE],
        userName: p.userName,
        ...(p.title ? { title: p.title } : {}),
        ...(p.emails.length ? { emails: p.emails } : {}),
        [ENTERPRISE]: { department: p.dept },
      },
    });
    ids[p.userName.split('@')[0] as string] = (await res.json()).id;
  }
});
afterAll(async () => {
  await t.close();
});

const names = (body: { Resources?: { userName: string }[] }) =>
  (body.Resources ?? []).map((r) => r.userName.split('@')[0]).sort();
const list = async (query: string) => (await t.request('GET', `/scim/v2/Users?${query}`)).json();

describe('GET /Users with filters, sorting and paging', () => {
  it('Should filter with operators, and/or/not, complex filters and extension URNs', async () => {
    expect(names(await list(`filter=${encodeURIComponent('title eq "nurse"')}`))).toEqual([
      'astrid',
      'cecilia',
    ]);
    expect(
      names(
        await list(
          `filter=${encodeURIComponent('userName ew "@SOUTH.example" and not (title pr)')}`,
        ),
      ),
    ).toEqual(['david']);
    expect(
      names(
        await list(
          `filter=${encodeURIComponent('emails[type eq "work" and value ew "@north.example"]')}`,
        ),
      ),
    ).toEqual(['astrid']);
    expect(
      names(
        await list(
          `filter=${encodeURIComponent(`${ENTERPRISE}:department eq "Night" or userName sw "b"`)}`,
        ),
      ),
    ).toEqual(['astrid', 'bertil', 'cecilia']);
    expect(
      names(
        await list(`filter=${encodeURIComponent('meta.lastModified gt "2000-01-01T00:00:00Z"')}`),
      ),
    ).toHaveLength(4);
  });

  it('Should refuse a filter on an unknown attribute with invalidFilter, never an empty list', async () => {
    const res = await t.request(
      'GET',
      `/scim/v2/Users?filter=${encodeURIComponent('shoeSize eq "42"')}`,
    );
    expect(res.status).toBe(400);
    expect((await res.json()).scimType).toBe('invalidFilter');
  });

  it('Should treat filter injection as a value', async () => {
    const body = await list(`filter=${encodeURIComponent(`userName eq "x\\" or 1=1 --"`)}`);
    expect(body.totalResults).toBe(0);
    const { rows } = await t.database.db.pool.query(
      "select count(*)::int as n from users where status <> 'deleted'",
    );
    expect(rows[0].n).toBe(4);
  });

  it('Should sort, page by index with itemsPerPage the number returned, and project attributes', async () => {
    const page = await list(
      'sortBy=userName&sortOrder=descending&startIndex=2&count=2&attributes=userName',
    );
    expect(page).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
    expect(page.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'cecilia@south.example',
      'bertil@north.example',
    ]);
    expect(Object.keys(page.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    const last = await list('startIndex=4&count=10');
    expect(last.itemsPerPage).toBe(1);
    const onlyCount = await list('count=0');
    expect(onlyCount).toMatchObject({ totalResults: 4, itemsPerPage: 0 });
  });

  it('Should clamp count to the maximum page size', async () => {
    const page = await list('count=100000');
    expect(page.itemsPerPage).toBe(4);
  });

  it('Should walk every user with cursors while others are written', async () => {
    const seen: string[] = [];
    let page = await list('cursor=&count=1');
    seen.push(...page.Resources.map((r: { id: string }) => r.id));
    await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'late.arrival@north.example' },
    });
    while (page.nextCursor) {
      page = await list(`cursor=${encodeURIComponent(page.nextCursor)}&count=1`);
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
    }
    for (const id of Object.values(ids)) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await t.request('GET', '/scim/v2/Users?cursor=garbage&count=1');
    expect(bad.status).toBe(400);
    expect((await bad.json()).scimType).toBe('invalidCursor');
  });

  it('Should answer POST /.search like GET, per type and at the root', async () => {
    const res = await t.request('POST', '/scim/v2/Users/.search', {
      body: {
        schemas: [SEARCH],
        filter: 'title eq "Nurse"',
        attributes: ['userName'],
        sortBy: 'userName',
      },
    });
    const body = await res.json();
    expect(body.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'astrid@north.example',
      'cecilia@south.example',
    ]);
    await t.request('POST', '/scim/v2/Groups', {
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: 'Root searchable',
      },
    });
    const root = await (
      await t.request('POST', '/scim/v2/.search', { body: { schemas: [SEARCH], count: 100 } })
    ).json();
    const types = root.Resources.map(
      (r: { meta: { resourceType: string } }) => r.meta.resourceType,
    );
    // The group created here and the tenant's system group All Users (issue 4).
    expect(types.filter((x: string) => x === 'Group')).toHaveLength(2);
    expect(root.totalResults).toBe(root.Resources.length);
  });
});

describe('database faults', () => {
  it('Should answer 500 in the SCIM error schema, never 404, when the database fails', async () => {
    await t.database.db.pool.query('alter table users rename to users_away');
    try {
      const res = await t.request('GET', `/scim/v2/Users/${ids['astrid']}`);
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(body.detail).toMatch(/request id/);
      expect(JSON.stringify(body)).not.toMatch(/users_away|relation/);
    } finally {
      await t.database.db.pool.query('alter table users_away rename to users');
    }
  });
});
