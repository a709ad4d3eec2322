import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The request sequence of Okta's "SCIM 2.0 Spec Test" (the Runscope suite Okta asks
 * integrators to pass), then the lifecycle calls Okta sends once provisioning is on.
 */
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

const okta = {
  schemas: [USER],
  userName: 'Runscope.Okta@atko.example',
  name: { givenName: 'Runscope', familyName: 'Okta' },
  emails: [{ primary: true, value: 'runscope.okta@atko.example', type: 'work' }],
  displayName: 'Runscope Okta',
  locale: 'en-US',
  externalId: '00u1dhhb1fkIGP7RL1d8',
  groups: [],
  password: '1mz050nq',
  active: true,
};

describe('scim-okta-conformance: Okta SCIM 2.0 Spec Test', () => {
  let id = '';

  it('Required Test: Test Users endpoint (GET /Users?count=1&startIndex=1)', async () => {
    await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'existing@atko.example' },
    });
    const res = await t.request('GET', '/scim/v2/Users?count=1&startIndex=1');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    expect(typeof body.totalResults).toBe('number');
    expect(body.itemsPerPage).toBe(1);
    expect(body.startIndex).toBe(1);
    expect(body.Resources).toHaveLength(1);
  });

  it('Required Test: Get Users/{{id}}', async () => {
    const list = await (await t.request('GET', '/scim/v2/Users?count=1&startIndex=1')).json();
    const res = await t.request('GET', `/scim/v2/Users/${list.Resources[0].id}`);
    expect(res.status).toBe(200);
    expect((await res.json()).id).toBe(list.Resources[0].id);
  });

  it('Required Test: Test invalid User by username', async () => {
    const res = await t.request(
      'GET',
      `/scim/v2/Users?filter=userName eq "${randomUUID()}@atko.example"`,
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.totalResults).toBe(0);
    expect(body.Resources ?? []).toEqual([]);
  });

  it('Required Test: Test invalid User by ID', async () => {
    const res = await t.request('GET', `/scim/v2/Users/${randomUUID()}`);
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  });

  it('Required Test: Make sure random user does not exist', async () => {
    const body = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=userName eq "${okta.userName}"&startIndex=1&count=100`,
      )
    ).json();
    expect(body.totalResults).toBe(0);
  });

  it('Required Test: Create Okta user with realistic values', async () => {
    const res = await t.request('POST', '/scim/v2/Users', { body: okta });
    expect(res.status).toBe(201);
    const body = await res.json();
    id = body.id;
    expect(body).toMatchObject({
      userName: okta.userName,
      active: true,
      name: okta.name,
      externalId: okta.externalId,
    });
    expect(body.password).toBeUndefined();
  });

  it('Required Test: Verify that user was created', async () => {
    const body = await (await t.request('GET', `/scim/v2/Users/${id}`)).json();
    expect(body.userName).toBe(okta.userName);
    expect(body.emails).toEqual(okta.emails);
  });

  it('Required Test: Expect failure when recreating user with same values', async () => {
    const res = await t.request('POST', '/scim/v2/Users', { body: okta });
    expect(res.status).toBe(409);
    expect((await res.json()).scimType).toBe('uniqueness');
  });

  it('Required Test: Username Case Sensitivity Check', async () => {
    const res = await t.request(
      'GET',
      `/scim/v2/Users?filter=userName eq "${okta.userName.toUpperCase()}"`,
    );
    const body = await res.json();
    expect(body.totalResults).toBe(1);
    expect(body.Resources[0].id).toBe(id);
  });

  it('Okta profile update: PUT /Users/{{id}}', async () => {
    const res = await t.request('PUT', `/scim/v2/Users/${id}`, {
      body: { ...okta, id, name: { givenName: 'Runscope', familyName: 'Okta-Renamed' } },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).name.familyName).toBe('Okta-Renamed');
  });

  it('Okta deactivation: PATCH active false, then reactivation', async () => {
    let res = await t.request('PATCH', `/scim/v2/Users/${id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).active).toBe(false);
    res = await t.request('PATCH', `/scim/v2/Users/${id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] },
    });
    expect((await res.json()).active).toBe(true);
  });
});

describe('scim-okta-conformance: Push Groups', () => {
  it('creates, finds, renames, fills and empties a group, then deletes it', async () => {
    const members: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await t.request('POST', '/scim/v2/Users', {
        body: { schemas: [USER], userName: `push.${n}@atko.example` },
      });
      members.push((await res.json()).id);
    }
    const created = await t.request('POST', '/scim/v2/Groups', {
      body: { schemas: [GROUP], displayName: 'Okta Push Group', members: [] },
    });
    expect(created.status).toBe(201);
    const group = await created.json();

    const found = await (
      await t.request(
        'GET',
        '/scim/v2/Groups?filter=displayName eq "Okta Push Group"&startIndex=1&count=100',
      )
    ).json();
    expect(found.totalResults).toBe(1);

    let res = await t.request('PATCH', `/scim/v2/Groups/${group.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [
          {
            op: 'add',
            path: 'members',
            value: members.map((value) => ({ value, display: value })),
          },
        ],
      },
    });
    // Okta's Push Groups reference: PATCH /Groups answers 204 No Content.
    expect(res.status).toBe(204);
    res = await t.request('PATCH', `/scim/v2/Groups/${group.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [
          { op: 'replace', value: { id: group.id, displayName: 'Okta Push Group (renamed)' } },
        ],
      },
    });
    expect(res.status).toBe(204);
    const renamed = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(renamed.displayName).toBe('Okta Push Group (renamed)');
    res = await t.request('PATCH', `/scim/v2/Groups/${group.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'remove', path: `members[value eq "${members[0]}"]` }],
      },
    });
    const after = await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json();
    expect(after.members.map((m: { value: string }) => m.value).sort()).toEqual(
      members.slice(1).sort(),
    );

    expect((await t.request('DELETE', `/scim/v2/Groups/${group.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Groups/${group.id}`)).status).toBe(404);
  });
});
