import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { GROUP, rulesClient, sorted } from './data/rules-client.ts';

let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

async function allUsers(client = scim): Promise<{ id: string; [k: string]: unknown }> {
  const list = await (
    await t.request(
      'GET',
      `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "All Users"')}`,
    )
  ).json();
  expect(list.totalResults).toBe(1);
  return client.group(list.Resources[0].id);
}

describe('The system group All Users', () => {
  it('Should hold every active user of the tenant, and only them', async () => {
    const a = await scim.createUser('all.a');
    const b = await scim.createUser('all.b');
    const off = await scim.createUser('all.off', { active: false });
    const group = await allUsers();
    expect(group['urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group']).toMatchObject({
      kind: 'system',
    });
    const members = await scim.memberIds(group.id);
    expect(members).toEqual(expect.arrayContaining([a, b]));
    expect(members).not.toContain(off);
    expect((await scim.sources(group.id))[a]).toEqual(['system']);
  });

  it('Should exist in every new tenant', async () => {
    const token = await t.token({ tenant: 'new-care-org' });
    const other = rulesClient(t, token);
    const user = await other.createUser('first@new.example');
    expect(await other.groupNames(user)).toEqual(['All Users']);
  });

  it('Should refuse to be edited or deleted, naming the rule', async () => {
    const group = await allUsers();
    const user = await scim.createUser('all.edit');
    const attempts = [
      scim.patchGroup(group.id, [{ op: 'replace', path: 'displayName', value: 'Everyone' }]),
      scim.patchGroup(group.id, [{ op: 'remove', path: `members[value eq "${user}"]` }]),
      t.request('PUT', `/scim/v2/Groups/${group.id}`, {
        body: { schemas: [GROUP], displayName: 'All Users' },
      }),
      t.request('DELETE', `/scim/v2/Groups/${group.id}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.scimType).toBe('mutability');
      expect(body.detail).toMatch(/All Users is a system group and cannot be (edited|deleted)/);
    }
    expect(await scim.memberIds(group.id)).toContain(user);
  });
});

describe('Deactivation and reactivation', () => {
  it('Should remove a deactivated user from every group and restore only rule and system ones', async () => {
    const user = await scim.createUser('leaver@north.example', { title: 'Leaver' });
    const ruled = await scim.createGroup('Leavers by rule', { rule: 'title eq "Leaver"' });
    const manual = await scim.createGroup('Leavers by hand', {}, [user]);
    expect(await scim.groupNames(user)).toEqual([
      'All Users',
      'Leavers by hand',
      'Leavers by rule',
    ]);

    const off = await scim.patchUser(user, [{ op: 'replace', path: 'active', value: false }]);
    expect(off.status).toBe(200);
    expect((await off.json()).groups).toBeUndefined();
    expect(await scim.memberIds(ruled.id)).toEqual([]);
    expect(await scim.memberIds(manual.id)).toEqual([]);

    const on = await scim.patchUser(user, [{ op: 'replace', path: 'active', value: true }]);
    expect(on.status).toBe(200);
    expect(await scim.groupNames(user)).toEqual(['All Users', 'Leavers by rule']);
    expect(await scim.memberIds(manual.id)).toEqual([]);

    const { rows } = await t.database.db.pool.query(
      `select type, before, after from audit_events where subject_id = $1 order by id`,
      [user],
    );
    const [, deactivated, reactivated] = rows;
    expect(deactivated.before.status).toBe('active');
    expect(deactivated.after.status).toBe('inactive');
    expect(
      sorted(
        deactivated.after.membershipsRemoved.map(
          (m: { group: string; source: string }) => `${m.group}:${m.source}`,
        ),
      ),
    ).toEqual(
      sorted([`${ruled.id}:rule`, `${manual.id}:manual`, `${(await allUsers()).id}:system`]),
    );
    expect(reactivated.after.status).toBe('active');
    expect(
      sorted(
        reactivated.after.membershipsAdded.map(
          (m: { group: string; source: string }) => `${m.group}:${m.source}`,
        ),
      ),
    ).toEqual(sorted([`${ruled.id}:rule`, `${(await allUsers()).id}:system`]));
  });

  it('Should let a PUT with active false deactivate as PATCH does', async () => {
    const user = await scim.createUser('put.leaver');
    const res = await t.request('PUT', `/scim/v2/Users/${user}`, {
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'put.leaver',
        active: false,
      },
    });
    expect(res.status).toBe(200);
    expect(await scim.groupNames(user)).toEqual([]);
  });

  it('Should end every membership of a deleted user', async () => {
    const user = await scim.createUser('deleted.member', { title: 'Deleted' });
    const ruled = await scim.createGroup('Deleted by rule', { rule: 'title eq "Deleted"' });
    const before = (await scim.group(ruled.id)).meta.version;
    expect((await t.request('DELETE', `/scim/v2/Users/${user}`)).status).toBe(204);
    const after = await scim.group(ruled.id);
    expect(after.members).toBeUndefined();
    expect(after.meta.version).not.toBe(before);
    expect(await scim.memberIds((await allUsers()).id)).not.toContain(user);
  });
});
