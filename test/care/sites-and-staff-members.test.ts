import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleLock } from '../../src/directory/rule-sql.ts';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';
import { CARE, createSite, createUser, PATCH, SITE, STAFF, USER } from './data/care-fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await createSite(t, 'north');
  await createSite(t, 'south');
  await createSite(t, 'north-dementia', { parent: 'north' });
});
afterAll(async () => {
  await t.close();
});

async function createStaff(body: Record<string, unknown>, query = '') {
  const res = await t.request('POST', `/scim/v2/StaffMembers${query}`, {
    body: { schemas: [STAFF], ...body },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe('/Sites', () => {
  it('Should create a site with programs beneath it and read it back', async () => {
    const list = await (await t.request('GET', '/scim/v2/Sites?filter=kind eq "program"')).json();
    expect(list.totalResults).toBe(1);
    expect(list.Resources[0]).toMatchObject({
      code: 'north-dementia',
      parent: 'north',
      kind: 'program',
    });
    const north = (await (await t.request('GET', '/scim/v2/Sites?filter=code eq "NORTH"')).json())
      .Resources[0];
    expect(north).toMatchObject({
      schemas: [SITE],
      code: 'north',
      kind: 'site',
      meta: { resourceType: 'Site' },
    });
  });

  it('Should refuse a second site with the same code (409) and a program without a site (400)', async () => {
    const dup = await t.request('POST', '/scim/v2/Sites', {
      body: { schemas: [SITE], code: 'North', displayName: 'again' },
    });
    expect(dup.status).toBe(409);
    const orphan = await t.request('POST', '/scim/v2/Sites', {
      body: { schemas: [SITE], code: 'x', displayName: 'x', kind: 'program', parent: 'nowhere' },
    });
    expect(orphan.status).toBe(400);
    expect((await orphan.json()).detail).toContain('nowhere');
  });

  it('Should keep a site code immutable', async () => {
    const site = await createSite(t, 'east');
    const res = await t.request('PATCH', `/scim/v2/Sites/${site.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'code', value: 'west' }] },
    });
    expect(res.status).toBe(400);
    const renamed = await t.request('PATCH', `/scim/v2/Sites/${site.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'East side' }],
      },
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ code: 'east', displayName: 'East side' });
  });

  it('Should refuse to delete a site that users or staff members refer to, and delete a free one', async () => {
    const site = await createSite(t, 'busy');
    await createUser(t, 'busy.user', { roles: [{ site: 'busy', role: 'staff' }] });
    const res = await t.request('DELETE', `/scim/v2/Sites/${site.id}`);
    expect(res.status).toBe(409);
    expect((await res.json()).detail).toContain('care roles');
    const free = await createSite(t, 'free');
    expect((await t.request('DELETE', `/scim/v2/Sites/${free.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Sites/${free.id}`)).status).toBe(404);
  });
});

describe('/StaffMembers', () => {
  it('Should create a staff member without a user, with centres of care and a security role', async () => {
    const staff = await createStaff({
      displayName: 'Maja Lind',
      securityRole: 'nurse',
      centresOfCare: ['north'],
      primaryCentreOfCare: 'South',
    });
    expect(staff).toMatchObject({
      schemas: [STAFF],
      displayName: 'Maja Lind',
      active: true,
      securityRole: 'nurse',
      centresOfCare: ['south', 'north'],
      primaryCentreOfCare: 'south',
      meta: { resourceType: 'StaffMember' },
    });
    expect(staff.users).toBeUndefined();
  });

  it('Should refuse a centre of care that is not a site of the tenant', async () => {
    const res = await t.request('POST', '/scim/v2/StaffMembers', {
      body: { schemas: [STAFF], displayName: 'X', centresOfCare: ['atlantis'] },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain('atlantis');
  });

  it('Should show the users linked to a staff member, and keep it active when its user is deactivated', async () => {
    const staff = await createStaff({ displayName: 'Per Olsson', centresOfCare: ['north'] });
    const user = await createUser(t, 'per.olsson', { staffMembers: [{ value: staff.id }] });
    const shown = await (await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`)).json();
    expect(shown.users).toEqual([{ value: user.id, display: 'per.olsson' }]);
    expect((user[CARE] as { staffMembers: unknown[] }).staffMembers).toEqual([
      { value: staff.id, display: 'Per Olsson' },
    ]);
    const off = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(off.status).toBe(200);
    const after = await (await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`)).json();
    expect(after.active).toBe(true);
  });

  it('Should deactivate a staff member on its own and audit it', async () => {
    const staff = await createStaff({ displayName: 'Ebba Ek' });
    const res = await t.request('PATCH', `/scim/v2/StaffMembers/${staff.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).active).toBe(false);
    const { rows } = await t.services.db.pool.query(
      'select type, staff_member_id from audit_events where subject_id = $1 order by id',
      [staff.id],
    );
    expect(rows.map((r) => r.type)).toEqual(['staffMember.created', 'staffMember.deactivated']);
    expect(rows[1].staff_member_id).toBe(staff.id);
  });

  it('Should copy the access configuration of an existing staff member when creating one', async () => {
    const source = await createStaff({
      displayName: 'Template',
      securityRole: 'carer',
      centresOfCare: ['north', 'south'],
    });
    const copy = await createStaff({ displayName: 'New Carer' }, `?copyFrom=${source.id}`);
    expect(copy).toMatchObject({ securityRole: 'carer', centresOfCare: ['north', 'south'] });
  });

  it('Should filter, sort and page staff members in SQL', async () => {
    for (const n of ['Zed Zorn', 'Amy Alm', 'Bo Berg']) {
      await createStaff({ displayName: n, centresOfCare: ['south'], securityRole: 'pager' });
    }
    const res = await t.request(
      'GET',
      '/scim/v2/StaffMembers?filter=securityRole eq "pager" and centresOfCare eq "south"&sortBy=displayName&count=2',
    );
    const page = await res.json();
    expect(page.totalResults).toBe(3);
    expect(page.Resources.map((r: { displayName: string }) => r.displayName)).toEqual([
      'Amy Alm',
      'Bo Berg',
    ]);
    const second = await (
      await t.request(
        'GET',
        '/scim/v2/StaffMembers?filter=securityRole eq "pager"&sortBy=displayName&count=2&startIndex=3',
      )
    ).json();
    expect(second.Resources.map((r: { displayName: string }) => r.displayName)).toEqual([
      'Zed Zorn',
    ]);
  });

  it('Should refuse to delete a staff member linked to a user, and delete a free one', async () => {
    const staff = await createStaff({ displayName: 'Linked' });
    await createUser(t, 'linked.user', { staffMembers: [{ value: staff.id }] });
    expect((await t.request('DELETE', `/scim/v2/StaffMembers/${staff.id}`)).status).toBe(409);
    const free = await createStaff({ displayName: 'Free' });
    expect((await t.request('DELETE', `/scim/v2/StaffMembers/${free.id}`)).status).toBe(204);
  });

  it("Should answer 404 for another tenant's staff member and site", async () => {
    const staff = await createStaff({ displayName: 'Ours' });
    const other = await t.token({ tenant: 'west-care' });
    expect(
      (await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`, { token: other })).status,
    ).toBe(404);
    const list = await (await t.request('GET', '/scim/v2/StaffMembers', { token: other })).json();
    expect(list.totalResults).toBe(0);
    const sites = await (await t.request('GET', '/scim/v2/Sites', { token: other })).json();
    expect(sites.totalResults).toBe(0);
    const patch = await t.request('PATCH', `/scim/v2/StaffMembers/${staff.id}`, {
      token: other,
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'Theirs' }],
      },
    });
    expect(patch.status).toBe(404);
  });
});

describe('/Bulk with care resources', () => {
  it('Should create a site and a staff member working there in one Bulk request', async () => {
    const res = await t.request('POST', '/scim/v2/Bulk', {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [
          {
            method: 'POST',
            path: '/Sites',
            bulkId: 's1',
            data: { schemas: [SITE], code: 'bulk-site', displayName: 'Bulk' },
          },
          {
            method: 'POST',
            path: '/StaffMembers',
            bulkId: 'm1',
            data: { schemas: [STAFF], displayName: 'Bulk worker', centresOfCare: ['bulk-site'] },
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201']);
  });
});

describe('Staff member references under concurrent writes', () => {
  it('Should copy a renamed staff member into its users, each with a new version', async () => {
    const staff = await createStaff({ displayName: 'Lina Lund' });
    const user = await createUser(t, 'rename.user', { staffMembers: [{ value: staff.id }] });
    const before = await t.request('GET', `/scim/v2/Users/${user.id}`);
    const etag = before.headers.get('etag');
    const renamed = await t.request('PATCH', `/scim/v2/StaffMembers/${staff.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'Lina Lund-Berg' }],
      },
    });
    expect(renamed.status, await renamed.clone().text()).toBe(200);
    const after = await t.request('GET', `/scim/v2/Users/${user.id}`);
    expect((await after.json())[CARE].staffMembers).toEqual([
      { value: staff.id, display: 'Lina Lund-Berg' },
    ]);
    expect(after.headers.get('etag')).not.toBe(etag);
    const listed = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent('userName eq "rename.user"')}`,
      )
    ).json();
    expect(listed.Resources[0][CARE].staffMembers[0].display).toBe('Lina Lund-Berg');
  });

  it("Should write a renamed staff member's users through their write path: audit and rules", async () => {
    const staff = await createStaff({ displayName: 'Rune Rask' });
    const user = await createUser(t, 'rename.rule', { staffMembers: [{ value: staff.id }] });
    const admin = await t.token({ scopes: ['admin'] });
    const adminCall = (method: string, path: string, body?: unknown) =>
      rawRequest(t.app, `/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const group = await (
      await t.request('POST', '/scim/v2/Groups', {
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
          displayName: 'Rask team',
        },
      })
    ).json();
    const rule = await adminCall('PUT', `/groups/${group.id}/rule`, {
      rule: `${CARE}:staffMembers.display eq "Rune Rask"`,
    });
    expect(rule.status, await rule.clone().text()).toBe(200);
    const groupsOf = async () =>
      ((await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json()).groups ?? []).map(
        (g: { value: string }) => g.value,
      );
    expect(await groupsOf()).toContain(group.id);

    const renamed = await t.request('PATCH', `/scim/v2/StaffMembers/${staff.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'Rune Rask-Holm' }],
      },
    });
    expect(renamed.status, await renamed.clone().text()).toBe(200);
    expect(await groupsOf()).not.toContain(group.id);
    const history = await (await adminCall('GET', `/users/${user.id}/history`)).json();
    expect(history.events[0]).toMatchObject({
      type: 'user.updated',
      before: { attrs: { [CARE]: { staffMembers: [{ value: staff.id, display: 'Rune Rask' }] } } },
      after: {
        attrs: { [CARE]: { staffMembers: [{ value: staff.id, display: 'Rune Rask-Holm' }] } },
        membershipsRemoved: [{ group: group.id, source: 'rule' }],
      },
    });
  });

  it('Should make a staff member delete wait for a user write in flight, then refuse it', async () => {
    const staff = await createStaff({ displayName: 'Mats Moberg' });
    const user = await createUser(t, 'in.flight', {});
    const tenantId = (await t.services.directory.tenants.findByName('default'))?.id as string;
    // A user write in flight: it holds the tenant's rule lock (shared) as every user write
    // does, and is linking the staff member when the delete arrives.
    const writer = await t.services.db.pool.connect();
    try {
      await writer.query('begin');
      await writer.query(ruleLock(tenantId, 'shared'));
      let settled = false;
      const deleted = t.request('DELETE', `/scim/v2/StaffMembers/${staff.id}`).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await writer.query(
        `update users set attrs = jsonb_set(attrs, array[$2], jsonb_build_object('staffMembers',
           jsonb_build_array(jsonb_build_object('value', $3::text)))) where id = $1`,
        [user.id, CARE, staff.id],
      );
      await writer.query('commit');
      const res = await deleted;
      expect(res.status).toBe(409);
      expect((await res.json()).detail).toContain('linked to users');
    } finally {
      writer.release();
    }
    expect((await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`)).status).toBe(200);
  });

  it('Should never leave a user pointing at a staff member deleted while it was created', async () => {
    const pairs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const staff = await createStaff({ displayName: `Race ${i}` });
        const [created, deleted] = await Promise.all([
          t.request('POST', '/scim/v2/Users', {
            body: {
              schemas: [USER, CARE],
              userName: `race.${i}`,
              [CARE]: { staffMembers: [{ value: staff.id }] },
            },
          }),
          t.request('DELETE', `/scim/v2/StaffMembers/${staff.id}`),
        ]);
        return { staff: staff.id, created: created.status, deleted: deleted.status };
      }),
    );
    for (const p of pairs) {
      // Either the user was linked and the delete refused, or the delete won and the
      // create was refused: never both.
      expect([`${p.created}/${p.deleted}`], JSON.stringify(p)).toEqual([
        expect.stringMatching(/^(201\/409|400\/204)$/),
      ]);
    }
    const { rows } = await t.services.db.pool.query(
      `select u.user_name from users u, jsonb_array_elements(u.attrs->$1->'staffMembers') s(v)
       where not exists (select 1 from staff_members m where m.id = (s.v->>'value')::uuid)`,
      [CARE],
    );
    expect(rows).toEqual([]);
  });
});
