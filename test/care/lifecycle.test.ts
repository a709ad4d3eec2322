import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { CARE, createSite, createUser, PATCH, STAFF, tokenFor } from './data/care-fixtures.ts';

let t: TestApp;
let tenantId: string;
let admin: { id: string; token: string };
let mainAdmin: { id: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.findByName('default'))?.id as string;
  await createSite(t, 'north');
  const a = await createUser(t, 'admin@north.example', { adminAccess: true });
  admin = { id: a.id, token: await tokenFor(t, a.id) };
  const m = await createUser(t, 'main@north.example', { adminAccess: true });
  // Only a main administrator (or carebridge itself) makes a main administrator.
  await t.services.directory.users.update(
    { tenantId, actor: { type: 'system', id: null }, requestId: null },
    m.id,
    (u) => ({
      ...u,
      attrs: { ...u.attrs, [CARE]: { ...(u.attrs[CARE] as object), mainAdministrator: true } },
    }),
  );
  mainAdmin = { id: m.id, token: await tokenFor(t, m.id) };
});
afterAll(async () => {
  await t.close();
});

const admin$ = (method: string, path: string, token: string, body?: unknown) =>
  t.request(method, `/admin/v1${path}`, {
    token,
    ...(body === undefined ? {} : { body }),
    headers: { 'content-type': 'application/json' },
  });

async function tokenUsable(token: string) {
  return (await t.request('GET', '/scim/v2/Users?count=0', { token })).status === 200;
}

describe('Deactivation and reactivation', () => {
  it('Should suspend the tokens the user created, end its sessions and remove its roles, remembered for audit', async () => {
    const staff = await (
      await t.request('POST', '/scim/v2/StaffMembers', {
        body: { schemas: [STAFF], displayName: 'Kim' },
      })
    ).json();
    const user = await createUser(t, 'kim@north.example', {
      roles: [{ site: 'north', role: 'staff' }],
      staffMembers: [{ value: staff.id }],
    });
    const created = await t.services.tokens.issue({
      tenantId,
      scopes: ['scim'],
      name: 'kim-sync',
      createdBy: user.id,
    });
    const session = await t.services.tokens.issue({
      tenantId,
      scopes: ['scim:me'],
      name: 's',
      userId: user.id,
    });
    expect(await tokenUsable(created.token)).toBe(true);

    const res = await admin$('POST', `/users/${user.id}/deactivate`, admin.token);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'inactive' });
    expect(await tokenUsable(created.token)).toBe(false);
    expect((await t.request('GET', '/scim/v2/Me', { token: session.token })).status).toBe(401);

    const shown = await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json();
    expect(shown.active).toBe(false);
    expect(shown[CARE].roles).toBeUndefined();
    expect(shown[CARE].access.canSignIn).toBe(false);
    // The staff member is deactivated separately.
    expect(
      (await (await t.request('GET', `/scim/v2/StaffMembers/${staff.id}`)).json()).active,
    ).toBe(true);
    const { rows } = await t.services.db.pool.query(
      `select before from audit_events where subject_id = $1 and type = 'user.deactivated'`,
      [user.id],
    );
    expect(rows[0].before.attrs[CARE].roles).toEqual([{ site: 'north', role: 'staff' }]);

    const back = await admin$('POST', `/users/${user.id}/reactivate`, admin.token);
    expect(back.status).toBe(200);
    expect(await tokenUsable(created.token)).toBe(true);
    // Sessions stay revoked; roles are not given back.
    expect((await t.request('GET', '/scim/v2/Me', { token: session.token })).status).toBe(401);
    expect(
      (await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json())[CARE].roles,
    ).toBeUndefined();
  });

  it('Should deactivate an assistant: its roles go, its links stay (inactive user, link kept)', async () => {
    const recipient = await createUser(t, 'recipient@north.example');
    const assistant = await createUser(t, 'assistant@north.example', {
      roles: [{ site: 'north', role: 'assistant' }],
      assistantLinks: [{ recipient: recipient.id, status: 'active' }],
    });
    const res = await admin$('POST', `/users/${assistant.id}/deactivate`, admin.token);
    expect(res.status, await res.clone().text()).toBe(200);
    const shown = await (await t.request('GET', `/scim/v2/Users/${assistant.id}`)).json();
    expect(shown[CARE].roles).toBeUndefined();
    expect(shown[CARE].assistantLinks).toHaveLength(1);
    expect((await admin$('POST', `/users/${assistant.id}/reactivate`, admin.token)).status).toBe(
      200,
    );
  });

  it('Should suspend tokens when an IdP deactivates over SCIM (PATCH active false)', async () => {
    const user = await createUser(t, 'okta.off@north.example', { jobTitle: 'x' });
    const created = await t.services.tokens.issue({
      tenantId,
      scopes: ['scim'],
      name: 'k',
      createdBy: user.id,
    });
    await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: 'False' }] },
    });
    expect(await tokenUsable(created.token)).toBe(false);
  });

  it('Should refuse deactivating oneself through the admin API', async () => {
    const res = await admin$('POST', `/users/${admin.id}/deactivate`, admin.token);
    expect(res.status).toBe(403);
    expect((await res.json()).message).toBe('nobody can deactivate or delete their own account');
  });

  it('Should lock and unlock an account; a locked or pending account cannot sign in', async () => {
    const user = await createUser(t, 'lock.me@north.example', { jobTitle: 'x' });
    const locked = await admin$('POST', `/users/${user.id}/lock`, admin.token);
    expect(await locked.json()).toMatchObject({ status: 'locked' });
    const shown = await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json();
    expect(shown[CARE]).toMatchObject({ status: 'locked', access: { canSignIn: false } });
    expect(
      await (await admin$('POST', `/users/${user.id}/unlock`, admin.token)).json(),
    ).toMatchObject({ status: 'active' });
  });
});

describe('The user bank', () => {
  it('Should hide a deleted account from SCIM and let an admin restore it, inactive', async () => {
    const user = await createUser(t, 'banked@north.example');
    expect((await t.request('DELETE', `/scim/v2/Users/${user.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Users/${user.id}`)).status).toBe(404);
    const plain = await createUser(t, 'plain.restorer@north.example', { jobTitle: 'x' });
    const refused = await admin$('POST', `/users/${user.id}/restore`, await tokenFor(t, plain.id));
    expect(refused.status).toBe(403);
    expect((await refused.json()).message).toContain('only a user with admin access may restore');
    const res = await admin$('POST', `/users/${user.id}/restore`, admin.token);
    expect(res.status).toBe(200);
    const back = await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json();
    expect(back).toMatchObject({ userName: 'banked@north.example', active: false });
  });
});

describe('Erasure (GDPR)', () => {
  const PERSONAL = [
    'Greta',
    'Gustafsson',
    'greta.g@north.example',
    '+46 70 999 88 77',
    'Storgatan 5',
  ];

  async function createGreta() {
    const userName = 'greta.g@north.example';
    const greta = await createUser(
      t,
      userName,
      { jobTitle: 'Night nurse', roles: [{ site: 'north', role: 'staff' }] },
      {
        externalId: `okta-${userName}`,
        name: { givenName: 'Greta', familyName: 'Gustafsson' },
        displayName: 'Greta Gustafsson',
        emails: [{ value: userName, primary: true }],
        phoneNumbers: [{ value: '+46 70 999 88 77' }],
        addresses: [{ streetAddress: 'Storgatan 5' }],
        password: 'Greta-secret-password-1',
      },
    );
    // Her name also sits in others' data: a report's manager reference and group audit.
    await createUser(
      t,
      `report.${Date.now()}@north.example`,
      {},
      {
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
          manager: { value: greta.id, displayName: 'Greta Gustafsson' },
        },
      },
    );
    await t.request('PATCH', `/scim/v2/Users/${greta.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Nurse' }] },
    });
    await t.services.tokens.issue({
      tenantId,
      scopes: ['scim'],
      name: 'Greta Gustafsson laptop',
      createdBy: greta.id,
    });
    return greta;
  }

  it('Should refuse erasure to anyone but a main administrator, and to oneself', async () => {
    const other = await createUser(t, 'harald@north.example', { jobTitle: 'x' });
    const res = await admin$('POST', `/users/${other.id}/erase`, admin.token);
    expect(res.status).toBe(403);
    expect((await res.json()).message).toBe('only a main administrator may erase an account');
    const self = await admin$('POST', `/users/${mainAdmin.id}/erase`, mainAdmin.token);
    expect(self.status).toBe(403);
    expect((await self.json()).message).toBe('nobody can erase their own account');
    // Nothing changed.
    const still = await (await t.request('GET', `/scim/v2/Users/${other.id}`)).json();
    expect(still).toMatchObject({ userName: 'harald@north.example' });
  });

  it('Should leave no personal value of the user in any column of any table, and keep counting its events', async () => {
    const greta = await createGreta();
    const pool = t.services.db.pool;
    const countEvents = async () =>
      Number(
        (
          await pool.query('select count(*) as n from audit_events where subject_id = $1', [
            greta.id,
          ])
        ).rows[0].n,
      );
    const before = await countEvents();
    expect(before).toBeGreaterThan(1);
    // A failed import row quotes her username in its reason (the run and its audit event).
    const imported = await t.request('POST', '/admin/v1/imports?mode=create', {
      token: await t.token({ scopes: ['admin'] }),
      body: 'email,username,language\ngreta.other@north.example,greta.g@north.example,sv\n',
      headers: { 'content-type': 'text/csv' },
    });
    const importRun = await imported.json();
    expect(importRun.failures[0].reason).toContain('greta.g@north.example');

    const res = await admin$('POST', `/users/${greta.id}/erase`, mainAdmin.token);
    expect(res.status, await res.clone().text()).toBe(204);

    // Every text-like column of every table of the schema, searched for every personal value.
    const { rows: columns } = await pool.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
       where table_schema = current_schema() and data_type in ('text', 'jsonb', 'json', 'character varying', 'ARRAY')`,
    );
    expect(columns.length).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const { table_name, column_name } of columns) {
      for (const value of PERSONAL) {
        const { rows } = await pool.query(
          `select count(*) as n from "${table_name}" where "${column_name}"::text ilike '%' || $1 || '%'`,
          [value],
        );
        if (Number(rows[0].n) > 0) leaks.push(`${table_name}.${column_name}: ${value}`);
      }
    }
    expect(leaks).toEqual([]);
    const run = await (
      await t.request('GET', `/admin/v1/imports/${importRun.id}`, {
        token: await t.token({ scopes: ['admin'] }),
      })
    ).json();
    expect(run.failures).toEqual([
      { line: 2, reason: 'userName ***** already exists; use update mode' },
    ]);

    expect(await countEvents()).toBe(before + 1);
    const { rows } = await pool.query(
      'select user_name, password_hash, erased_at, status from users where id = $1',
      [greta.id],
    );
    expect(rows[0]).toMatchObject({ user_name: '*****', password_hash: null, status: 'deleted' });
    expect(rows[0].erased_at).not.toBeNull();
    // Irreversible: neither restored nor erased twice.
    expect((await admin$('POST', `/users/${greta.id}/restore`, admin.token)).status).toBe(404);
    expect((await t.request('GET', `/scim/v2/Users/${greta.id}`)).status).toBe(404);
    // The history still answers, pseudonymously.
    const history = await (await admin$('GET', `/users/${greta.id}/history`, admin.token)).json();
    expect(history.totalResults).toBe(before + 1);
    expect(history.events[0].type).toBe('user.erased');
  });
});
