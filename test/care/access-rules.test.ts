import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import {
  CARE,
  createSite,
  createUser,
  PATCH,
  replaceCare,
  SITE,
  STAFF,
  tokenFor,
} from './data/care-fixtures.ts';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CARE_GROUP = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';

let t: TestApp;
const u: Record<string, string> = {};
const tok: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  await createSite(t, 'north');
  const people: [string, Record<string, unknown>][] = [
    ['admin', { adminAccess: true, roles: [{ site: 'north', role: 'enterpriseManager' }] }],
    ['elevated', { elevatedAccess: true, roles: [{ site: 'north', role: 'programManager' }] }],
    ['siteManager', { roles: [{ site: 'north', role: 'siteManager' }] }],
    ['staff', { roles: [{ site: 'north', role: 'staff' }] }],
    ['plain', { jobTitle: 'carer' }],
    ['system', { jobTitle: 'system' }],
  ];
  for (const [name, care] of people) {
    u[name] = (await createUser(t, `${name}@north.example`, care)).id;
    tok[name] = await tokenFor(t, u[name] as string);
  }
  // The reserved system administrator is marked by carebridge itself, never over SCIM.
  await t.services.db.pool.query(
    `update users set attrs = jsonb_set(attrs, array[$2, 'systemAdministrator'], 'true') where id = $1`,
    [u['system'], CARE],
  );
});
afterAll(async () => {
  await t.close();
});

const patchCare = (as: string, target: string, value: Record<string, unknown>) =>
  t.request('PATCH', `/scim/v2/Users/${u[target]}`, { token: tok[as], body: replaceCare(value) });
const setActive = (as: string, target: string, value: boolean) =>
  t.request('PATCH', `/scim/v2/Users/${u[target]}`, {
    token: tok[as],
    body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value }] },
  });

async function refused(res: Response, rule: string) {
  expect(res.status).toBe(403);
  expect((await res.json()).detail).toContain(rule);
}

describe('Who may do what', () => {
  it('Should refuse an elevated user granting admin access', async () => {
    await refused(
      await patchCare('elevated', 'staff', {
        roles: [{ site: 'north', role: 'staff' }],
        adminAccess: true,
      }),
      'only a user with admin access may grant or remove admin access',
    );
  });

  it('Should refuse a Program Manager editing a Site Manager (the role rule)', async () => {
    await refused(
      await patchCare('elevated', 'siteManager', {
        roles: [{ site: 'north', role: 'siteManager' }],
        jobTitle: 'x',
      }),
      'role rule',
    );
  });

  it('Should let a Program Manager with elevated access manage staff, but not promote them above itself', async () => {
    const ok = await patchCare('elevated', 'staff', { roles: [{ site: 'north', role: 'intake' }] });
    expect(ok.status).toBe(200);
    await refused(
      await patchCare('elevated', 'staff', { roles: [{ site: 'north', role: 'siteManager' }] }),
      'role rule',
    );
  });

  it('Should refuse a user without admin or elevated access managing another account', async () => {
    await refused(
      await patchCare('siteManager', 'plain', { jobTitle: 'boss' }),
      'managing another account needs admin access or elevated access',
    );
  });

  it('Should refuse deactivating oneself, even with admin access', async () => {
    await refused(
      await setActive('admin', 'admin', false),
      'nobody can deactivate or delete their own account',
    );
    const del = await t.request('DELETE', `/scim/v2/Users/${u['admin']}`, { token: tok['admin'] });
    expect(del.status).toBe(403);
  });

  it('Should refuse deactivating or deleting the reserved system administrator', async () => {
    await refused(await setActive('admin', 'system', false), 'reserved system administrator');
    const del = await t.request('DELETE', `/scim/v2/Users/${u['system']}`);
    expect(del.status).toBe(403);
    // Over SCIM the flag cannot be given away either: it is read-only.
    const res = await patchCare('admin', 'plain', { systemAdministrator: true, jobTitle: 'carer' });
    expect(res.status).toBe(400);
    const plain = await (await t.request('GET', `/scim/v2/Users/${u['plain']}`)).json();
    expect(plain[CARE].systemAdministrator).toBeUndefined();
  });

  it('Should let an admin grant admin access, but only a main administrator grant main administrator', async () => {
    const ok = await patchCare('admin', 'plain', { jobTitle: 'carer', adminAccess: true });
    expect(ok.status).toBe(200);
    expect((await ok.json())[CARE].adminAccess).toBe(true);
    await refused(
      await patchCare('admin', 'plain', {
        jobTitle: 'carer',
        adminAccess: true,
        mainAdministrator: true,
      }),
      'only a main administrator may grant or remove main administrator rights',
    );
  });

  it('Should let a user edit their own profile through /Me but not their roles or access flags', async () => {
    const me = await t.token({ userId: u['staff'] as string, scopes: ['scim:me'] });
    const name = await t.request('PATCH', '/scim/v2/Me', {
      token: me,
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'Sam Staff' }],
      },
    });
    expect(name.status).toBe(200);
    for (const [path, value] of [
      [`${CARE}:primaryCareRole`, 'enterpriseManager'],
      [`${CARE}:adminAccess`, true],
      [`${CARE}:elevatedAccess`, true],
    ] as const) {
      const res = await t.request('PATCH', '/scim/v2/Me', {
        token: me,
        body: { schemas: [PATCH], Operations: [{ op: 'replace', path, value }] },
      });
      expect(res.status, path).toBe(403);
      expect((await res.json()).detail).toContain('/Me cannot change');
    }
  });

  it('Should limit staff members and sites to admin (sites) and elevated (staff) users', async () => {
    const site = await t.request('POST', '/scim/v2/Sites', {
      token: tok['elevated'],
      body: { schemas: [SITE], code: 'south', displayName: 'South' },
    });
    await refused(site, 'changing sites needs admin access');
    const staff = await t.request('POST', '/scim/v2/StaffMembers', {
      token: tok['elevated'],
      body: { schemas: [STAFF], displayName: 'By elevated' },
    });
    expect(staff.status).toBe(201);
    await refused(
      await t.request('POST', '/scim/v2/StaffMembers', {
        token: tok['siteManager'],
        body: { schemas: [STAFF], displayName: 'By nobody' },
      }),
      'changing staff members needs admin access or elevated access',
    );
  });

  it('Should limit a SCIM client token by scope', async () => {
    const reader = await t.token({ scopes: ['scim:read'] });
    const res = await t.request('POST', '/scim/v2/StaffMembers', {
      token: reader,
      body: { schemas: [STAFF], displayName: 'Nope' },
    });
    expect(res.status).toBe(403);
    expect((await t.request('GET', '/scim/v2/StaffMembers', { token: reader })).status).toBe(200);
  });

  it('Should count care roles granted through groups on both sides of the role rule', async () => {
    const groupGranting = async (name: string, role: string, members: string[]) => {
      const res = await t.request('POST', '/scim/v2/Groups', {
        body: {
          schemas: [GROUP, CARE_GROUP],
          displayName: name,
          members: members.map((value) => ({ value })),
          [CARE_GROUP]: { grants: [{ type: 'careRole', value: role, site: 'north' }] },
        },
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()).id as string;
    };
    const title = (value: string) => ({
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'title', value }],
    });
    const edit = (as: string, target: string, value: string) =>
      t.request('PATCH', `/scim/v2/Users/${target}`, { token: tok[as], body: title(value) });

    // A staff member whom a group makes Site Manager is above the Program Manager.
    const promoted = (
      await createUser(t, 'promoted@north.example', {
        roles: [{ site: 'north', role: 'staff' }],
      })
    ).id;
    expect((await edit('elevated', promoted, 'Carer')).status).toBe(200);
    const managers = await groupGranting('Acting site managers', 'siteManager', [promoted]);
    await refused(await edit('elevated', promoted, 'Nurse'), 'role rule');

    // An elevated user without roles of their own manages staff once a group grants them a role.
    const acting = (await createUser(t, 'acting@north.example', { elevatedAccess: true })).id;
    tok['acting'] = await tokenFor(t, acting);
    const target = (
      await createUser(t, 'target@north.example', {
        roles: [{ site: 'north', role: 'staff' }],
      })
    ).id;
    await refused(await edit('acting', target, 'Carer'), 'role rule');
    await groupGranting('Acting department heads', 'departmentHead', [acting]);
    expect((await edit('acting', target, 'Carer')).status).toBe(200);
    // ...and loses it with the membership.
    const removed = await t.request('PATCH', `/scim/v2/Groups/${managers}`, {
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'remove', path: `members[value eq "${promoted}"]` }],
      },
    });
    expect(removed.status).toBe(204);
    expect((await edit('elevated', promoted, 'Nurse')).status).toBe(200);
  });

  it('Should change nothing when a refusal happens', async () => {
    const before = await (await t.request('GET', `/scim/v2/Users/${u['siteManager']}`)).json();
    await patchCare('elevated', 'siteManager', { roles: [] });
    const after = await (await t.request('GET', `/scim/v2/Users/${u['siteManager']}`)).json();
    expect(after).toEqual(before);
  });
});
