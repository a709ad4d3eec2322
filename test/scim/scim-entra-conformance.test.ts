import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * What Microsoft Entra ID's provisioning service sends, in the order of its SCIM
 * validator ("Microsoft Entra SCIM validator") and its documented request examples.
 */
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const patchUser = (id: string, Operations: unknown[]) =>
  t.request('PATCH', `/scim/v2/Users/${id}`, { body: { schemas: [PATCH], Operations } });

async function entraUser(userName: string) {
  const res = await t.request('POST', '/scim/v2/Users', {
    body: {
      schemas: [USER, ENTERPRISE],
      externalId: randomUUID(),
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: userName }],
      meta: { resourceType: 'User' },
      name: { formatted: 'Test User', familyName: 'User', givenName: 'Test' },
      roles: [],
      [ENTERPRISE]: { employeeNumber: '42', department: 'Home care' },
    },
  });
  expect(res.status).toBe(201);
  return res.json();
}

describe('scim-entra-conformance: users', () => {
  it('Get user by query: filter userName eq a random value returns an empty list', async () => {
    const res = await t.request(
      'GET',
      `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`,
    );
    expect(res.status).toBe(200);
    expect((await res.json()).totalResults).toBe(0);
  });

  it('Create user, then get it by userName and by externalId', async () => {
    const user = await entraUser('Test_User_dfeef4c5@contoso.example');
    const byName = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent('userName eq "test_user_dfeef4c5@contoso.example"')}`,
      )
    ).json();
    expect(byName.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
    const byExternal = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(`externalId eq "${user.externalId}"`)}`,
      )
    ).json();
    expect(byExternal.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
  });

  it('Update user: replace without path with multiple attributes, "False" strings and dotted keys', async () => {
    const user = await entraUser('multi@contoso.example');
    const res = await patchUser(user.id, [
      {
        op: 'Replace',
        value: { displayName: 'Multi Replace', 'name.givenName': 'Multi', active: 'False' },
      },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      displayName: 'Multi Replace',
      name: { givenName: 'Multi', familyName: 'User' },
      active: false,
    });
  });

  it('Update user: add a work address and phone the user does not have yet (filtered path)', async () => {
    const user = await entraUser('filtered@contoso.example');
    const res = await patchUser(user.id, [
      { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: 'Storgatan 1' },
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+46 70 000 00 00' },
      {
        op: 'Replace',
        path: 'emails[type eq "work"].value',
        value: 'filtered.new@contoso.example',
      },
    ]);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.addresses).toEqual([
      expect.objectContaining({ type: 'work', streetAddress: 'Storgatan 1' }),
    ]);
    expect(body.phoneNumbers).toEqual([
      expect.objectContaining({ type: 'mobile', value: '+46 70 000 00 00' }),
    ]);
    expect(body.emails).toEqual([
      expect.objectContaining({ type: 'work', value: 'filtered.new@contoso.example' }),
    ]);
  });

  it('Update user: manager as a plain string, then removed', async () => {
    const manager = await entraUser('manager@contoso.example');
    const user = await entraUser('report@contoso.example');
    let res = await patchUser(user.id, [
      { op: 'Add', path: `${ENTERPRISE}:manager`, value: manager.id },
    ]);
    expect(res.status).toBe(200);
    expect((await res.json())[ENTERPRISE].manager.value).toBe(manager.id);
    res = await patchUser(user.id, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
    expect((await res.json())[ENTERPRISE].manager).toBeUndefined();
  });

  it('Update user: extension attribute by path, op names in any case', async () => {
    const user = await entraUser('ext@contoso.example');
    const res = await patchUser(user.id, [
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Night staff' },
    ]);
    expect((await res.json())[ENTERPRISE].department).toBe('Night staff');
  });

  it('Disable user: Replace active "False", then delete it', async () => {
    const user = await entraUser('disable@contoso.example');
    const res = await patchUser(user.id, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect((await res.json()).active).toBe(false);
    expect((await t.request('DELETE', `/scim/v2/Users/${user.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Users/${user.id}`)).status).toBe(404);
  });
});

describe('scim-entra-conformance: groups', () => {
  it('Create group, find it with excludedAttributes=members, add and remove members', async () => {
    const a = await entraUser('member.a@contoso.example');
    const b = await entraUser('member.b@contoso.example');
    const created = await t.request('POST', '/scim/v2/Groups', {
      body: { schemas: [GROUP], externalId: randomUUID(), displayName: 'Entra Group', members: [] },
    });
    expect(created.status).toBe(201);
    const group = await created.json();

    const found = await (
      await t.request(
        'GET',
        `/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Entra Group"')}`,
      )
    ).json();
    expect(found.Resources).toHaveLength(1);
    expect(found.Resources[0].members).toBeUndefined();

    let res = await t.request('PATCH', `/scim/v2/Groups/${group.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'Add', path: 'members', value: [{ value: a.id }, { value: b.id }] }],
      },
    });
    expect(res.status).toBe(204);
    res = await t.request('PATCH', `/scim/v2/Groups/${group.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'Remove', path: 'members', value: [{ value: a.id }] }],
      },
    });
    expect(res.status).toBe(204);
    const after = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([b.id]);

    const filtered = await (
      await t.request(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent(`displayName eq "Entra Group" and members[value eq "${b.id}"]`)}&excludedAttributes=members`,
      )
    ).json();
    expect(filtered.totalResults).toBe(1);
  });
});
