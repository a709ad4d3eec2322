import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CARE_GROUP = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
const groupIds: Record<string, string> = {};
beforeAll(async () => {
  t = await createTestApp();
  for (const [name, rule] of [
    ['Cooks', 'title eq "Cook"'],
    ['Drivers', 'title eq "Driver"'],
  ]) {
    const res = await t.request('POST', '/scim/v2/Groups', {
      body: { schemas: [GROUP, CARE_GROUP], displayName: name, [CARE_GROUP]: { rule } },
    });
    groupIds[name as string] = (await res.json()).id;
  }
});
afterAll(() => t.close());

const names = (user: { groups?: { display: string }[] }) =>
  (user.groups ?? []).map((g) => g.display);

describe('the groups in the answer to a write', () => {
  it('Should show the groups the write itself brought, as a later read does', async () => {
    const created = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'cook@north.example', title: 'Cook' },
    });
    const user = await created.json();
    expect(names(user)).toEqual(['All Users', 'Cooks']);

    // A manual membership the rule change must not touch.
    await t.request('PATCH', `/scim/v2/Groups/${groupIds['Drivers']}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'add', path: 'members', value: [{ value: user.id }] }],
      },
    });
    const patched = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Driver' }] },
    });
    const answer = await patched.json();
    expect(names(answer)).toEqual(['All Users', 'Drivers']);
    const read = await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json();
    expect(answer.groups).toEqual(read.groups);

    const deactivated = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect((await deactivated.json()).groups).toBeUndefined();
  });
});
