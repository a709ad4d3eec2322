import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('bearer tokens on /scim/v2', () => {
  it('Should not authorize - no token: 401 with a Bearer challenge', async () => {
    const res = await rawRequest(t.app, '/scim/v2/Users');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="carebridge", error="invalid_token"/,
    );
    const body = await res.json();
    expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(body.status).toBe('401');
  });

  it('Should not authorize - a token signed by someone else', async () => {
    const forged =
      'eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4IiwidGVuYW50IjoieCIsInNjb3BlIjoic2NpbSJ9.c2lnbmF0dXJl';
    const res = await t.request('GET', '/scim/v2/Users', { token: forged });
    expect(res.status).toBe(401);
  });

  it('Should not authorize - a revoked token', async () => {
    const { tenant } = await t.services.directory.tenants.ensure('default');
    const issued = await t.services.tokens.issue({
      tenantId: tenant.id,
      scopes: ['scim'],
      name: 'to revoke',
    });
    expect((await t.request('GET', '/scim/v2/Users', { token: issued.token })).status).toBe(200);
    expect(await t.services.tokens.revoke(tenant.id, issued.id)).toBe(true);
    const res = await t.request('GET', '/scim/v2/Users', { token: issued.token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('revoked');
  });

  it('Should refuse writes to a read-only token with 403', async () => {
    const readOnly = await t.token({ scopes: ['scim:read'] });
    expect((await t.request('GET', '/scim/v2/Users', { token: readOnly })).status).toBe(200);
    const res = await t.request('POST', '/scim/v2/Users', {
      token: readOnly,
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ro' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
    const list = await (await t.request('GET', '/scim/v2/Users?filter=userName eq "ro"')).json();
    expect(list.totalResults).toBe(0);
  });

  it("Should answer 404 for another tenant's user, never its data", async () => {
    const created = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'secret.person@a.org',
      },
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const other = await t.token({ tenant: 'other-org' });
    const res = await t.request('GET', `/scim/v2/Users/${id}`, { token: other });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('secret.person');
    const list = await (await t.request('GET', '/scim/v2/Users', { token: other })).json();
    expect(list.totalResults).toBe(0);
    const del = await t.request('DELETE', `/scim/v2/Users/${id}`, { token: other });
    expect(del.status).toBe(404);
    expect((await t.request('GET', `/scim/v2/Users/${id}`)).status).toBe(200);
  });
});

describe('OAuth 2.0 client credentials at /oauth/token', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const post = (body: string, headers: Record<string, string> = {}) =>
    rawRequest(t.app, '/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });

  it('Should issue a SCIM token to a client with the right secret', async () => {
    const { tenant } = await t.services.directory.tenants.ensure('default');
    const client = await t.services.clients.create(tenant.id, 'entra', ['scim']);
    const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
    const res = await post(form({ grant_type: 'client_credentials' }), {
      authorization: `Basic ${basic}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'scim' });
    expect((await t.request('GET', '/scim/v2/Users', { token: body.access_token })).status).toBe(
      200,
    );
  });

  it('Should not authorize - a wrong secret, and tokens die with their revoked client', async () => {
    const { tenant } = await t.services.directory.tenants.ensure('default');
    const client = await t.services.clients.create(tenant.id, 'okta', ['scim']);
    const wrong = await post(
      form({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'nope' }),
    );
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error).toBe('invalid_client');
    const ok = await post(
      form({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
    );
    const { access_token } = await ok.json();
    await t.services.clients.revoke(tenant.id, client.clientId);
    expect((await t.request('GET', '/scim/v2/Users', { token: access_token })).status).toBe(401);
  });

  it('Should refuse other grants and scopes the client does not have', async () => {
    const { tenant } = await t.services.directory.tenants.ensure('default');
    const client = await t.services.clients.create(tenant.id, 'reader', ['scim:read']);
    const grant = await post(form({ grant_type: 'password', username: 'a', password: 'b' }));
    expect((await grant.json()).error).toBe('unsupported_grant_type');
    const scope = await post(
      form({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
        scope: 'scim',
      }),
    );
    expect(scope.status).toBe(400);
    expect((await scope.json()).error).toBe('invalid_scope');
  });

  it('Should refuse a token request body over 1 MiB with 413, without reading it whole', async () => {
    const res = await rawRequest(t.app, '/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&junk=${'x'.repeat(1_100_000)}`,
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe('payload_too_large');
  });
});

describe('health and keys', () => {
  it('Should report process and database health', async () => {
    expect((await rawRequest(t.app, '/healthz')).status).toBe(200);
    const ready = await rawRequest(t.app, '/readyz');
    expect(await ready.json()).toEqual({ status: 'ok' });
  });

  it('Should verify tokens signed before a key rotation', async () => {
    const before = await t.token();
    await t.services.keys.rotate();
    const after = await t.token();
    expect((await t.request('GET', '/scim/v2/Users', { token: before })).status).toBe(200);
    expect((await t.request('GET', '/scim/v2/Users', { token: after })).status).toBe(200);
    const jwks = await (await rawRequest(t.app, '/.well-known/jwks.json')).json();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
  });
});
