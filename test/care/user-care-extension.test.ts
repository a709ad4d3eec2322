import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { CARE, createSite, createUser, PATCH, replaceCare, USER } from './data/care-fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await createSite(t, 'north');
  await createSite(t, 'south');
  await createSite(t, 'north-dementia', { parent: 'north' });
  await createSite(t, 'north-rehab', { parent: 'north' });
});
afterAll(async () => {
  await t.close();
});

const ids = (list: { Resources: { userName: string }[] }) => list.Resources.map((r) => r.userName);

describe('The care extension on /Users', () => {
  it('Should turn the simple primarySite and primaryCareRole an IdP maps into a care role', async () => {
    const user = await createUser(t, 'idp.mapped', {
      primarySite: 'north',
      primaryCareRole: 'staff',
    });
    expect(user[CARE]).toMatchObject({
      primarySite: 'north',
      primaryCareRole: 'staff',
      roles: [{ site: 'north', role: 'staff' }],
      status: 'active',
      access: { canSignIn: true, listedAmongStaff: true },
    });
    // Okta and Entra send one attribute at a time, by its full path.
    const res = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: `${CARE}:primaryCareRole`, value: 'programManager' }],
      },
    });
    expect(res.status).toBe(200);
    expect((await res.json())[CARE].roles).toEqual([{ site: 'north', role: 'programManager' }]);
  });

  it('Should keep per-site roles with program access, a default program and disabled-on-site', async () => {
    const user = await createUser(t, 'two.sites', {
      roles: [
        {
          site: 'north',
          role: 'departmentHead',
          programs: ['north-dementia', 'north-rehab'],
          defaultProgram: 'north-rehab',
        },
        { site: 'south', role: 'staff', disabled: true },
      ],
    });
    expect(user[CARE]).toMatchObject({ primarySite: 'north', primaryCareRole: 'departmentHead' });
    expect((user[CARE] as { roles: unknown[] }).roles).toHaveLength(2);
  });

  it('Should refuse an unknown site, a program of another site and a default program outside the programs', async () => {
    const cases = [
      [{ roles: [{ site: 'atlantis', role: 'staff' }] }, 'atlantis'],
      [{ roles: [{ site: 'south', role: 'staff', programs: ['north-rehab'] }] }, 'north-rehab'],
      [
        {
          roles: [
            {
              site: 'north',
              role: 'staff',
              programs: ['north-rehab'],
              defaultProgram: 'north-dementia',
            },
          ],
        },
        'north-dementia',
      ],
      [
        {
          roles: [
            { site: 'north', role: 'staff' },
            { site: 'NORTH', role: 'intake' },
          ],
        },
        'twice',
      ],
    ] as const;
    for (const [care, word] of cases) {
      const res = await t.request('POST', '/scim/v2/Users', {
        body: { schemas: [USER, CARE], userName: `bad.${word}`, [CARE]: care },
      });
      expect(res.status).toBe(400);
      expect((await res.json()).detail).toContain(word);
    }
    const { rows } = await t.services.db.pool.query(
      `select 1 from users where user_name like 'bad.%'`,
    );
    expect(rows).toHaveLength(0);
  });

  it('Should filter users by role on a site, by status and by creation date', async () => {
    await createUser(t, 'f.staff.north', { roles: [{ site: 'north', role: 'staff' }] });
    await createUser(t, 'f.staff.south', { roles: [{ site: 'south', role: 'staff' }] });
    await createUser(t, 'f.intake.north', { roles: [{ site: 'north', role: 'intake' }] });
    const filter = encodeURIComponent(
      `${CARE}:roles[site eq "north" and role eq "staff"] and userName sw "f."`,
    );
    const byRole = await (await t.request('GET', `/scim/v2/Users?filter=${filter}`)).json();
    expect(ids(byRole)).toEqual(['f.staff.north']);

    const locked = await createUser(t, 'f.locked');
    await t.services.directory.care.lifecycle.setStatus(
      { tenantId: await tenantId(), actor: { type: 'system', id: null }, requestId: null },
      locked.id,
      'locked',
    );
    const byStatus = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(`${CARE}:status eq "locked"`)}`,
      )
    ).json();
    expect(ids(byStatus)).toEqual(['f.locked']);

    const since = new Date(Date.now() - 7 * 86400_000).toISOString();
    const recent = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(`meta.created gt "${since}" and userName sw "f."`)}`,
      )
    ).json();
    expect(recent.totalResults).toBe(4);
  });

  it('Should sort by lastAuthenticated, which sign-in writes and SCIM cannot', async () => {
    const tid = await tenantId();
    const names = ['s.early', 's.late', 's.never'];
    const users = [];
    for (const n of names) users.push(await createUser(t, n, { jobTitle: 'sorter' }));
    const ctx = { tenantId: tid, actor: { type: 'system' as const, id: null }, requestId: null };
    const stamp = async (id: string, at: string) =>
      t.services.directory.users.update(ctx, id, (u) => ({
        ...u,
        attrs: { ...u.attrs, [CARE]: { ...(u.attrs[CARE] as object), lastAuthenticated: at } },
      }));
    await stamp(users[0]?.id as string, '2026-01-01T08:00:00Z');
    await stamp(users[1]?.id as string, '2026-03-01T08:00:00Z');
    // A client cannot set it: readOnly, ignored on input, and a PUT keeps it.
    const put = await t.request('PUT', `/scim/v2/Users/${users[0]?.id}`, {
      body: {
        schemas: [USER, CARE],
        userName: 's.early',
        [CARE]: { jobTitle: 'sorter', lastAuthenticated: '2030-01-01T00:00:00Z' },
      },
    });
    expect((await put.json())[CARE].lastAuthenticated).toBe('2026-01-01T08:00:00Z');
    const sorted = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(`${CARE}:jobTitle eq "sorter"`)}&sortBy=${CARE}:lastAuthenticated&sortOrder=descending`,
      )
    ).json();
    expect(ids(sorted)).toEqual(['s.never', 's.late', 's.early']);
  });

  it('Should refuse to link a user who does not have the role assistant (403 naming the rule)', async () => {
    const recipient = await createUser(t, 'recipient.one');
    const res = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: [USER, CARE],
        userName: 'not.an.assistant',
        [CARE]: {
          roles: [{ site: 'north', role: 'staff' }],
          assistantLinks: [{ recipient: recipient.id }],
        },
      },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toBe(
      'only a user with the role assistant can be linked to a care recipient',
    );
  });

  it('Should compute the entitlements of each link from its status', async () => {
    const a = await createUser(t, 'recipient.a');
    const b = await createUser(t, 'recipient.b');
    const c = await createUser(t, 'recipient.c');
    const assistant = await createUser(t, 'assistant.one', {
      roles: [{ site: 'north', role: 'assistant' }],
      assistantLinks: [
        { recipient: a.id, status: 'active' },
        { recipient: b.id, status: 'inactive' },
        { recipient: c.id, status: 'removed' },
      ],
    });
    expect((assistant[CARE] as { assistantLinks: unknown[] }).assistantLinks).toEqual([
      {
        recipient: a.id,
        status: 'active',
        seesSchedule: true,
        canBeScheduled: true,
        recipientCanApproveTimeReport: true,
      },
      {
        recipient: b.id,
        status: 'inactive',
        seesSchedule: true,
        canBeScheduled: false,
        recipientCanApproveTimeReport: true,
      },
      {
        recipient: c.id,
        status: 'removed',
        seesSchedule: false,
        canBeScheduled: false,
        recipientCanApproveTimeReport: false,
      },
    ]);
    // Removing one link keeps access to the others; a client cannot forge entitlements.
    const res = await t.request('PATCH', `/scim/v2/Users/${assistant.id}`, {
      body: replaceCare({
        roles: [{ site: 'north', role: 'assistant' }],
        assistantLinks: [
          { recipient: a.id, status: 'removed', canBeScheduled: true },
          { recipient: b.id, status: 'active' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const links = (await res.json())[CARE].assistantLinks;
    expect(links[0]).toMatchObject({
      status: 'removed',
      canBeScheduled: false,
      seesSchedule: false,
    });
    expect(links[1]).toMatchObject({ status: 'active', canBeScheduled: true });
    const linked = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent(`${CARE}:assistantLinks[recipient eq "${b.id}" and canBeScheduled eq true]`)}`,
      )
    ).json();
    expect(ids(linked)).toEqual(['assistant.one']);
  });

  it('Should refuse a link to a recipient that does not exist in the tenant', async () => {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: [USER, CARE],
        userName: 'assistant.nowhere',
        [CARE]: {
          roles: [{ site: 'north', role: 'assistant' }],
          assistantLinks: [{ recipient: '0190a4b2-0000-7000-8000-000000000000' }],
        },
      },
    });
    expect(res.status).toBe(400);
  });

  it('Should link one staff member per user unless the tenant enables several', async () => {
    const staff = [];
    for (const n of ['One', 'Two']) {
      const res = await t.request('POST', '/scim/v2/StaffMembers', {
        body: {
          schemas: ['urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember'],
          displayName: n,
        },
      });
      staff.push((await res.json()).id);
    }
    const two = { staffMembers: staff.map((value) => ({ value })) };
    const refused = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER, CARE], userName: 'two.staff', [CARE]: two },
    });
    expect(refused.status).toBe(400);
    expect((await refused.json()).detail).toContain('multipleStaffMembersPerUser');
    await t.services.db.pool.query(
      `update tenants set settings = settings || '{"multipleStaffMembersPerUser": true}' where id = $1`,
      [await tenantId()],
    );
    const user = await createUser(t, 'two.staff', two);
    expect((user[CARE] as { staffMembers: unknown[] }).staffMembers).toHaveLength(2);
  });

  it('Should set passwordLastChanged when the password changes', async () => {
    const user = await createUser(t, 'pw.user', {}, { password: 'a-Long-password-1' });
    const first = (user[CARE] as { passwordLastChanged: string }).passwordLastChanged;
    expect(Date.parse(first)).toBeGreaterThan(Date.now() - 60_000);
  });
});

async function tenantId(): Promise<string> {
  const found = await t.services.directory.tenants.findByName('default');
  return found?.id as string;
}
