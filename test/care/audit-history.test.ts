import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { createUser, PATCH, STAFF, tokenFor } from './data/care-fixtures.ts';

let t: TestApp;
let adminToken: string;

beforeAll(async () => {
  t = await createTestApp();
  const admin = await createUser(t, 'auditor@north.example', { adminAccess: true });
  adminToken = await tokenFor(t, admin.id, ['admin']);
});
afterAll(async () => {
  await t.close();
});

const get = (path: string, token = adminToken) => t.request('GET', `/admin/v1${path}`, { token });

describe('GET /admin/v1/users/:id/history and /admin/v1/audit', () => {
  it("Should list a user's changes newest first with actor, type, time and before/after", async () => {
    const user = await createUser(t, 'hist@north.example', { jobTitle: 'carer' });
    for (const title of ['Nurse', 'Head nurse']) {
      await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
        body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: title }] },
      });
    }
    const res = await get(`/users/${user.id}/history`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.totalResults).toBe(3);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual([
      'user.updated',
      'user.updated',
      'user.created',
    ]);
    expect(body.events[0]).toMatchObject({
      actor: { type: 'token' },
      subject: { type: 'user', id: user.id },
      before: { attrs: { title: 'Nurse' } },
      after: { attrs: { title: 'Head nurse' } },
    });
    const paged = await (await get(`/users/${user.id}/history?count=1&startIndex=2`)).json();
    expect(paged).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(paged.events[0].after.attrs.title).toBe('Nurse');
  });

  it('Should filter by start and end date and by event type', async () => {
    const user = await createUser(t, 'dates@north.example');
    await t.services.db.pool.query(
      `update audit_events set at = '2026-01-15T10:00:00Z' where subject_id = $1`,
      [user.id],
    );
    await t.request('DELETE', `/scim/v2/Users/${user.id}`);
    const inJanuary = await (
      await get(`/users/${user.id}/history?start=2026-01-01&end=2026-01-31`)
    ).json();
    expect(inJanuary.events.map((e: { type: string }) => e.type)).toEqual(['user.created']);
    const deletes = await (await get(`/users/${user.id}/history?type=user.deleted`)).json();
    expect(deletes.totalResults).toBe(1);
    const tenantWide = await (
      await get('/audit?type=user.deleted,user.created&start=2026-01-15&end=2026-01-15')
    ).json();
    expect(tenantWide.events.map((e: { subject: { id: string } }) => e.subject.id)).toEqual([
      user.id,
    ]);
    expect((await get('/audit?start=yesterday')).status).toBe(400);
  });

  it('Should filter the tenant-wide audit by staff member', async () => {
    const staff = await (
      await t.request('POST', '/scim/v2/StaffMembers', {
        body: { schemas: [STAFF], displayName: 'Audited' },
      })
    ).json();
    await t.request('PATCH', `/scim/v2/StaffMembers/${staff.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'securityRole', value: 'nurse' }],
      },
    });
    const body = await (await get(`/audit?staffMember=${staff.id}`)).json();
    expect(body.events.map((e: { type: string }) => e.type)).toEqual([
      'staffMember.updated',
      'staffMember.created',
    ]);
    // The events of the users linked to the staff member belong to its history too.
    const user = await createUser(t, 'linked.audit@north.example', {
      staffMembers: [{ value: staff.id }],
    });
    const withUser = await (await get(`/audit?staffMember=${staff.id}`)).json();
    expect(withUser.events[0]).toMatchObject({ type: 'user.created', subject: { id: user.id } });
    expect(withUser.totalResults).toBe(3);
  });

  it("Should answer 404 for another tenant's user and refuse tokens without the admin scope", async () => {
    const user = await createUser(t, 'mine@north.example');
    const other = await t.token({ tenant: 'west-care', scopes: ['admin'] });
    expect((await get(`/users/${user.id}/history`, other)).status).toBe(404);
    const otherAudit = await (await get('/audit', other)).json();
    expect(otherAudit.totalResults).toBe(0);
    const scim = await t.token({ scopes: ['scim'] });
    const res = await get('/audit', scim);
    expect(res.status).toBe(403);
    expect((await get('/audit', 'not-a-token')).status).toBe(401);
  });

  it('Should refuse the audit trail to a user without admin or elevated access', async () => {
    const plain = await createUser(t, 'curious@north.example', { jobTitle: 'x' });
    const res = await get('/audit', await tokenFor(t, plain.id, ['admin']));
    expect(res.status).toBe(403);
  });
});
