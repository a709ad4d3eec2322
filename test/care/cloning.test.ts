import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { CARE, createSite, createUser, STAFF, tokenFor } from './data/care-fixtures.ts';

let t: TestApp;
let adminToken: string;

beforeAll(async () => {
  t = await createTestApp();
  await createSite(t, 'north');
  const admin = await createUser(t, 'cloner@north.example', { adminAccess: true });
  adminToken = await tokenFor(t, admin.id, ['admin']);
});
afterAll(async () => {
  await t.close();
});

const post = (path: string, body: unknown, token = adminToken) =>
  t.request('POST', `/admin/v1${path}`, {
    token,
    body,
    headers: { 'content-type': 'application/json' },
  });

async function staffMember(body: Record<string, unknown>) {
  const res = await t.request('POST', '/scim/v2/StaffMembers', {
    body: { schemas: [STAFF], ...body },
  });
  return res.json();
}

describe('Cloning', () => {
  it('Should clone a user with a new userName and password and the same staff member assignments', async () => {
    const staff = await staffMember({ displayName: 'Shared record' });
    const source = await createUser(
      t,
      'source@north.example',
      {
        staffMembers: [{ value: staff.id }],
        roles: [{ site: 'north', role: 'staff' }],
        jobTitle: 'Carer',
      },
      { name: { givenName: 'Sven' }, emails: [{ value: 'source@north.example' }] },
    );
    const res = await post(`/users/${source.id}/clone`, {
      userName: 'clone@north.example',
      password: 'Clone-password-123',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const clone = await res.json();
    const shown = await (await t.request('GET', `/scim/v2/Users/${clone.id}`)).json();
    expect(shown.userName).toBe('clone@north.example');
    expect(shown.name).toBeUndefined();
    expect(shown[CARE]).toMatchObject({
      staffMembers: [{ value: staff.id }],
      roles: [{ site: 'north', role: 'staff' }],
      jobTitle: 'Carer',
    });
    const users = (await (await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`)).json())
      .users;
    expect(users.map((u: { display: string }) => u.display).sort()).toEqual([
      'clone@north.example',
      'source@north.example',
    ]);
  });

  it('Should refuse a clone under a userName already in use', async () => {
    const source = await createUser(t, 'taken@north.example');
    const res = await post(`/users/${source.id}/clone`, { userName: 'TAKEN@north.example' });
    expect(res.status).toBe(409);
  });

  it('Should clone a staff member with the same centres of care', async () => {
    const source = await staffMember({
      displayName: 'Original',
      centresOfCare: ['north'],
      securityRole: 'nurse',
    });
    const res = await post(`/staff-members/${source.id}/clone`, { displayName: 'Copy' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      displayName: 'Copy',
      centresOfCare: ['north'],
      securityRole: 'nurse',
    });
  });

  it('Should clone a site with the same forms and staff', async () => {
    const site = await t.request('POST', '/scim/v2/Sites', {
      body: {
        schemas: ['urn:ietf:params:scim:schemas:carebridge:2.0:Site'],
        code: 'west',
        displayName: 'West',
        forms: ['intake-v2'],
      },
    });
    const west = await site.json();
    const worker = await staffMember({ displayName: 'West worker', centresOfCare: ['west'] });
    const res = await post(`/sites/${west.id}/clone`, { code: 'west2', displayName: 'West 2' });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toMatchObject({ code: 'west2', forms: ['intake-v2'] });
    const after = await (await t.request('GET', `/scim/v2/StaffMembers/${worker.id}`)).json();
    expect(after.centresOfCare).toEqual(['west', 'west2']);
  });

  it('Should apply the access rules to a clone: a user without access cannot clone', async () => {
    const plain = await createUser(t, 'nobody@north.example', { jobTitle: 'x' });
    const source = await createUser(t, 'src2@north.example');
    const res = await post(
      `/users/${source.id}/clone`,
      { userName: 'c2@north.example' },
      await tokenFor(t, plain.id, ['admin']),
    );
    expect(res.status).toBe(403);
  });
});
