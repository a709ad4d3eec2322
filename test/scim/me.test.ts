import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
let anna: { id: string };
let meToken: string;

beforeAll(async () => {
  t = await createTestApp();
  const res = await t.request('POST', '/scim/v2/Users', {
    body: { schemas: [USER], userName: 'anna@north.example', displayName: 'Anna' },
  });
  anna = await res.json();
  meToken = await t.token({ scopes: ['scim:me'], userId: anna.id });
});
afterAll(() => t.close());

describe('/Me (RFC 7644 §3.11)', () => {
  it('Should answer GET /Me with the account the token was issued to', async () => {
    const res = await t.request('GET', '/scim/v2/Me', { token: meToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: anna.id, userName: 'anna@north.example' });
  });

  it('Should let the account change its own profile by PATCH', async () => {
    const res = await t.request('PATCH', '/scim/v2/Me', {
      token: meToken,
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'Anna B' }],
      },
    });
    expect(res.status).toBe(200);
    const seen = await (await t.request('GET', `/scim/v2/Users/${anna.id}`)).json();
    expect(seen.displayName).toBe('Anna B');
  });

  it('Should refuse an account deactivating itself through /Me, changing nothing', async () => {
    const res = await t.request('PATCH', '/scim/v2/Me', {
      token: meToken,
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toMatch(/cannot activate or deactivate itself/);
    const seen = await (await t.request('GET', `/scim/v2/Users/${anna.id}`)).json();
    expect(seen.active).toBe(true);
  });

  it('Should answer 501 to a token that stands for no user', async () => {
    const clientToken = await t.token({ scopes: ['scim:me'] });
    const res = await t.request('GET', '/scim/v2/Me', { token: clientToken });
    expect(res.status).toBe(501);
  });

  it('Should not let a /Me token reach /Users, nor a SCIM client token reach /Me', async () => {
    expect((await t.request('GET', '/scim/v2/Users', { token: meToken })).status).toBe(403);
    expect((await t.request('GET', '/scim/v2/Me')).status).toBe(403);
  });

  it('Should not authorize a /Me token once its account is deleted', async () => {
    const created = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'leaver@north.example' },
    });
    const leaver = await created.json();
    const token = await t.token({ scopes: ['scim:me'], userId: leaver.id });
    expect((await t.request('DELETE', `/scim/v2/Users/${leaver.id}`)).status).toBe(204);
    const res = await t.request('GET', '/scim/v2/Me', { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });
});
