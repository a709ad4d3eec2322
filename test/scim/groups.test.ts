import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function createUsers(prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: `${prefix}.${i}` },
    });
    ids.push((await res.json()).id);
  }
  return ids;
}

async function createGroup(displayName: string, members: string[] = []) {
  const res = await t.request('POST', '/scim/v2/Groups', {
    body: { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) },
  });
  expect(res.status).toBe(201);
  return res.json();
}

const patchGroup = (id: string, Operations: unknown[], query = '') =>
  t.request('PATCH', `/scim/v2/Groups/${id}${query}`, { body: { schemas: [PATCH], Operations } });

describe('Groups', () => {
  it('Should create a group with members and show them, and each user its groups', async () => {
    const [a, b] = await createUsers('night', 2);
    const group = await createGroup('Night staff, North site', [a as string, b as string]);
    expect(group.members.map((m: { value: string }) => m.value).sort()).toEqual([a, b].sort());
    expect(group.members[0]).toMatchObject({
      type: 'User',
      $ref: expect.stringContaining('/Users/'),
    });
    const user = await (await t.request('GET', `/scim/v2/Users/${a}`)).json();
    // Every active user is also in the tenant's system group All Users (issue 4).
    expect(user.groups).toEqual([
      expect.objectContaining({ display: 'All Users' }),
      expect.objectContaining({ value: group.id, display: 'Night staff, North site' }),
    ]);
  });

  it('Should refuse members that are not users of the tenant, creating nothing', async () => {
    const res = await t.request('POST', '/scim/v2/Groups', {
      body: {
        schemas: [GROUP],
        displayName: 'Ghosts',
        members: [{ value: '00000000-0000-0000-0000-000000000001' }],
      },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).scimType).toBe('invalidValue');
    const list = await (
      await t.request('GET', '/scim/v2/Groups?filter=displayName eq "Ghosts"')
    ).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should add and remove members by PATCH in the forms Okta and Entra send', async () => {
    const [a, b, c] = await createUsers('patch', 3);
    const group = await createGroup('Patch group', [a as string]);
    let res = await patchGroup(group.id, [
      { op: 'Add', path: 'members', value: [{ value: b, $ref: null }, { value: c }] },
    ]);
    expect(res.status).toBe(204);
    res = await patchGroup(group.id, [{ op: 'Remove', path: 'members', value: [{ value: a }] }]);
    expect(res.status).toBe(204);
    res = await patchGroup(group.id, [{ op: 'remove', path: `members[value eq "${b}"]` }]);
    const after = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([c]);
  });

  it('Should never lose a member when PATCHes of one group run at once', async () => {
    const ids = await createUsers('race', 20);
    const group = await createGroup('Race group');
    const results = await Promise.all(
      ids.map((value) =>
        patchGroup(group.id, [{ op: 'add', path: 'members', value: [{ value }] }]),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 204));
    const after = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(after.members).toHaveLength(20);
    expect(after.meta.version).toBe('W/"21"');
  });

  it('Should add 1,000 members in one PATCH and read the group without them', async () => {
    const { rows } = await t.database.db.pool.query<{ id: string }>(
      `insert into users (id, tenant_id, user_name, status, attrs, created_at, updated_at)
       select gen_random_uuid(), t.id, 'bulk.member.' || g, 'active', '{}', now(), now()
       from tenants t, generate_series(1, 1000) g where t.name = 'default'
       returning id`,
    );
    const group = await createGroup('Thousand');
    const res = await patchGroup(
      group.id,
      [{ op: 'add', path: 'members', value: rows.map((r) => ({ value: r.id })) }],
      '?excludedAttributes=members',
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.members).toBeUndefined();
    const count = await t.database.db.pool.query(
      'select count(*)::int as n from group_members where group_id = $1',
      [group.id],
    );
    expect(count.rows[0].n).toBe(1000);
    const slim = await (
      await t.request('GET', `/scim/v2/Groups/${group.id}?excludedAttributes=members`)
    ).json();
    expect(slim).toMatchObject({ id: group.id, displayName: 'Thousand' });
    expect(slim.members).toBeUndefined();
  });

  it('Should replace displayName and keep members on PATCH, and delete the group', async () => {
    const [a] = await createUsers('rename', 1);
    const group = await createGroup('Old name', [a as string]);
    const res = await patchGroup(group.id, [{ op: 'replace', value: { displayName: 'New name' } }]);
    expect(res.status).toBe(204);
    expect(res.headers.get('etag')).toBe('W/"2"');
    const body = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(body.displayName).toBe('New name');
    expect(body.members).toHaveLength(1);
    expect((await t.request('DELETE', `/scim/v2/Groups/${group.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Groups/${group.id}`)).status).toBe(404);
    const user = await (await t.request('GET', `/scim/v2/Users/${a}`)).json();
    expect(user.groups).toEqual([expect.objectContaining({ display: 'All Users' })]);
  });

  it('Should drop the memberships of a deleted user', async () => {
    const [a, b] = await createUsers('gone', 2);
    const group = await createGroup('Leavers', [a as string, b as string]);
    await t.request('DELETE', `/scim/v2/Users/${a}`);
    const after = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([b]);
  });
});
