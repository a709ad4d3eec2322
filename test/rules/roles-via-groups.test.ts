import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { CARE_GROUP, rulesClient, USER } from './data/rules-client.ts';

let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

const groupRoles = (user: { roles?: { type: string; value: string }[] }) =>
  (user.roles ?? []).filter((r) => r.type.startsWith('group:'));

describe('Roles via groups', () => {
  it('Should give members the roles of the group while the membership lasts', async () => {
    const user = await scim.createUser('role.holder', {
      title: 'Night nurse',
      roles: [{ value: 'own-role', type: 'manual' }],
    });
    const group = await scim.createGroup('Night staff', {
      rule: 'title eq "Night nurse"',
      grants: [
        { type: 'scimRole', value: 'night-shift' },
        { type: 'careRole', value: 'staff', site: 'north' },
      ],
    });
    expect(group[CARE_GROUP]).toMatchObject({ grants: expect.any(Array) });
    const held = await scim.user(user);
    expect(held.roles).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ value: 'own-role' }),
        expect.objectContaining({ value: 'night-shift', type: 'group:Night staff' }),
        expect.objectContaining({ value: 'careRole:staff@north', type: 'group:Night staff' }),
      ]),
    );

    // The membership goes, the grants go; the user's own role stays.
    await scim.patchUser(user, [{ op: 'replace', path: 'title', value: 'Day nurse' }]);
    const after = await scim.user(user);
    expect(groupRoles(after)).toEqual([]);
    expect(after.roles).toEqual([expect.objectContaining({ value: 'own-role' })]);
  });

  it('Should never store group roles a client sends back with a PUT', async () => {
    const user = await scim.createUser('role.roundtrip', { title: 'Roundtrip' });
    await scim.createGroup('Roundtrip group', {
      rule: 'title eq "Roundtrip"',
      grants: [{ type: 'scimRole', value: 'via-group' }],
    });
    const read = await scim.user(user);
    expect(groupRoles(read)).toHaveLength(1);
    const { id: _id, meta: _meta, groups: _groups, ...rest } = read;
    const put = await t.request('PUT', `/scim/v2/Users/${user}`, {
      body: { ...rest, schemas: [USER], title: 'Elsewhere' },
    });
    expect(put.status).toBe(200);
    expect(groupRoles(await put.json())).toEqual([]);
    const { rows } = await t.database.db.pool.query('select attrs from users where id = $1', [
      user,
    ]);
    expect(rows[0].attrs.roles).toBeUndefined();
  });

  it('Should refuse grants that say nothing', async () => {
    for (const grants of [
      [{ type: 'careRole', value: 'staff' }],
      [{ type: 'scimRole', value: 'x', site: 'north' }],
      [{ type: 'scimRole', value: ' ' }],
    ]) {
      const res = await t.request('POST', '/scim/v2/Groups', {
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', CARE_GROUP],
          displayName: 'Bad grants',
          [CARE_GROUP]: { grants },
        },
      });
      expect(res.status, JSON.stringify(grants)).toBe(400);
    }
  });
});
