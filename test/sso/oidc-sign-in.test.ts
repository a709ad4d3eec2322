import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';
import { startOidcIdp, type TestOidcIdp } from './helpers/oidc-idp.ts';
import {
  auditEvents,
  CARE_APP,
  putConnection,
  RETURN_URL,
  refusalCodes,
  userByName,
} from './helpers/sso-fixtures.ts';
import { firstLoginState, UserAgent } from './helpers/user-agent.ts';

const URN = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
let t: TestApp;
let idp: TestOidcIdp;
let tenantId: string;

function agent(acceptLanguage = 'sv-SE,sv;q=0.9,en;q=0.5') {
  return new UserAgent(t, { acceptLanguage, stopAt: [new URL(CARE_APP).host] });
}

/** Signs in through /sso/okta/login and returns where carebridge sent the browser. */
async function signIn(ua: UserAgent, returnTo = RETURN_URL) {
  return ua.go(
    'GET',
    `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(returnTo)}`,
  );
}

async function verifySession(location: string) {
  const token = new URL(location).searchParams.get('token') ?? '';
  const jwks = await (await rawRequest(t.app, '/.well-known/jwks.json')).json();
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: 'http://carebridge.test',
    audience: CARE_APP,
  });
  return { token, payload };
}

beforeAll(async () => {
  t = await createTestApp();
  idp = await startOidcIdp({
    redirectUris: [
      'http://carebridge.test/sso/okta/callback',
      'http://carebridge.test/sso/other/callback',
      'http://carebridge.test/sso/okta-key/callback',
    ],
  });
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  await putConnection(t, 'okta', {
    protocol: 'oidc',
    allowedReturnUrls: [RETURN_URL],
    linking: 'verified_email',
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
  });
});
afterAll(async () => {
  await idp?.close();
  await t?.close();
});

describe('OIDC sign-in, happy path', () => {
  it('Should create the account on first login with the locale and time zone of the claims', async () => {
    idp.signInAs('sub-anna', {
      email: 'anna@north.example',
      email_verified: true,
      preferred_username: 'anna',
      given_name: 'Anna',
      family_name: 'Berg',
      locale: 'sv-SE',
      zoneinfo: 'Europe/Stockholm',
    });
    const { stoppedAt } = await signIn(agent());
    expect(stoppedAt?.startsWith(`${RETURN_URL}?token=`)).toBe(true);
    const user = await userByName(t, tenantId, 'anna');
    expect(user?.status).toBe('active');
    expect(user?.attrs['locale']).toBe('sv-SE');
    expect(user?.attrs['timezone']).toBe('Europe/Stockholm');
    expect(user?.attrs['name']).toEqual({ givenName: 'Anna', familyName: 'Berg' });
    expect(user?.attrs['emails']).toEqual([
      { value: 'anna@north.example', type: 'work', primary: true },
    ]);
    const { payload } = await verifySession(stoppedAt ?? '');
    expect(payload).toMatchObject({
      sub: user?.id,
      tenant: tenantId,
      locale: 'sv-SE',
      zoneinfo: 'Europe/Stockholm',
      care_roles: [],
      staff_member_ids: [],
    });
    expect(Array.isArray(payload['groups'])).toBe(true);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(120);
    const created = await auditEvents(t, 'user.created');
    expect(created.at(-1)?.subject_id).toBe(user?.id);
  });

  it('Should sign the same person in to the same account later, updating mapped attributes', async () => {
    idp.signInAs('sub-anna', {
      email: 'anna@north.example',
      email_verified: true,
      preferred_username: 'anna',
      given_name: 'Annie',
      family_name: 'Berg',
      locale: 'sv-SE',
      zoneinfo: 'Europe/Stockholm',
    });
    const { stoppedAt } = await signIn(agent());
    expect(stoppedAt).toContain('token=');
    const { rows } = await t.services.db.pool.query(
      "select count(*)::int as n from users where tenant_id = $1 and user_name = 'anna'",
      [tenantId],
    );
    expect(rows[0].n).toBe(1);
    const user = await userByName(t, tenantId, 'anna');
    expect(user?.attrs['name']).toMatchObject({ givenName: 'Annie' });
    const ext = user?.attrs[URN] as { lastAuthenticated: string };
    expect(Date.now() - Date.parse(ext.lastAuthenticated)).toBeLessThan(60_000);
    expect((await auditEvents(t, 'user.signed_in')).length).toBeGreaterThanOrEqual(1);
  });

  it('Should keep issued tokens verifiable after the signing key rotates', async () => {
    idp.signInAs('sub-anna', {
      email: 'anna@north.example',
      email_verified: true,
      preferred_username: 'anna',
    });
    const { stoppedAt } = await signIn(agent());
    await t.services.keys.rotate();
    const { payload } = await verifySession(stoppedAt ?? '');
    expect(payload.tenant).toBe(tenantId);
  });

  it('Should ask the browser for its time zone when the IdP gives none, and use Accept-Language', async () => {
    idp.signInAs('sub-bo', {
      email: 'bo@north.example',
      email_verified: true,
      preferred_username: 'bo',
    });
    const ua = agent('sv-SE,sv;q=0.9');
    const { res, url } = await signIn(ua);
    expect(url).toContain('/sso/okta/callback');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Intl.DateTimeFormat().resolvedOptions().timeZone');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await userByName(t, tenantId, 'bo')).toBeUndefined();
    const post = await ua.go('POST', 'http://carebridge.test/sso/first-login', {
      state: firstLoginState(html),
      locale: 'sv-SE',
      timezone: 'Europe/Stockholm',
      detected_timezone: 'Europe/Stockholm',
    });
    expect(post.stoppedAt).toContain('token=');
    const user = await userByName(t, tenantId, 'bo');
    expect(user?.attrs['locale']).toBe('sv-SE');
    expect(user?.attrs['timezone']).toBe('Europe/Stockholm');
  });

  it('Should show the chooser when the zone is not one the tenant supports', async () => {
    await t.services.db.pool.query(
      `update tenants set settings = settings || '{"supportedTimeZones":["Europe/Oslo","Europe/Helsinki"]}'::jsonb where id = $1`,
      [tenantId],
    );
    try {
      idp.signInAs('sub-cai', {
        email: 'cai@north.example',
        preferred_username: 'cai',
        zoneinfo: 'Europe/Stockholm',
        locale: 'sv-SE',
      });
      const ua = agent();
      const { res } = await signIn(ua);
      const html = await res.text();
      expect(html).toContain('Europe/Stockholm, which is not supported here');
      expect(html).toContain('<option value="Europe/Oslo">');
      expect(html).not.toContain('<option value="Europe/Stockholm">');
      const state = firstLoginState(html);
      const bad = await ua.send('POST', 'http://carebridge.test/sso/first-login', {
        state,
        locale: 'sv-SE',
        timezone: 'Europe/Stockholm',
      });
      expect(bad.status).toBe(400);
      const again = await bad.text();
      expect(again).toContain('Please choose');
      expect(await userByName(t, tenantId, 'cai')).toBeUndefined();
      const ok = await ua.go('POST', 'http://carebridge.test/sso/first-login', {
        state: firstLoginState(again),
        locale: 'sv-SE',
        timezone: 'Europe/Oslo',
      });
      expect(ok.stoppedAt).toContain('token=');
      expect((await userByName(t, tenantId, 'cai'))?.attrs['timezone']).toBe('Europe/Oslo');
    } finally {
      await t.services.db.pool.query(
        `update tenants set settings = settings - 'supportedTimeZones' where id = $1`,
        [tenantId],
      );
    }
  });

  it('Should authenticate to the IdP with private_key_jwt and put the new account in the default groups', async () => {
    const group = await t.services.directory.groups.create(
      { tenantId, actor: { type: 'system', id: null }, requestId: null },
      { displayName: 'Nurses', externalId: null, attrs: {} },
      [],
    );
    await putConnection(t, 'okta-key', {
      protocol: 'oidc',
      allowedReturnUrls: [RETURN_URL],
      defaultGroups: [group.id],
      oidc: {
        issuer: idp.issuer,
        clientId: idp.keyClientId,
        clientAuth: 'private_key_jwt',
        privateKeyJwk: idp.keyClientJwk,
      },
    });
    idp.signInAs('sub-gun', {
      email: 'gun@north.example',
      preferred_username: 'gun',
      zoneinfo: 'Europe/Stockholm',
      locale: 'sv-SE',
    });
    const { stoppedAt } = await agent().go(
      'GET',
      `http://carebridge.test/sso/okta-key/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const { payload } = await verifySession(stoppedAt ?? '');
    expect(payload['groups']).toContain('Nurses');
    const gun = await userByName(t, tenantId, 'gun');
    const members = await t.services.directory.groups.membersOf(tenantId, [group.id]);
    expect(members.get(group.id)?.map((m) => m.value)).toContain(gun?.id);
  });

  it('Should ask for the language when the IdP gives one the tenant does not support', async () => {
    idp.signInAs('sub-hal', {
      email: 'hal@north.example',
      preferred_username: 'hal',
      zoneinfo: 'Europe/Stockholm',
      locale: 'tlh-KL',
    });
    const ua = agent();
    const { res } = await signIn(ua);
    const html = await res.text();
    expect(html).toContain('Your language tlh-KL is not supported here');
    expect(html).toContain('<select id="locale" name="locale">');
    const done = await ua.go('POST', 'http://carebridge.test/sso/first-login', {
      state: firstLoginState(html),
      locale: 'en-GB',
      timezone: 'Europe/Stockholm',
    });
    expect(done.stoppedAt).toContain('token=');
    expect((await userByName(t, tenantId, 'hal'))?.attrs['locale']).toBe('en-GB');
  });
});

describe('OIDC sign-in, refusals (each audited)', () => {
  it('Should refuse a callback whose state was never issued', async () => {
    const ua = agent();
    const res = await ua.send(
      'GET',
      'http://carebridge.test/sso/okta/callback?code=abc&state=forged',
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('state_mismatch');
    expect(await refusalCodes(t)).toContain('state_mismatch');
  });

  it('Should refuse a callback finished in another browser than the one that started it', async () => {
    idp.signInAs('sub-anna', { email: 'anna@north.example', preferred_username: 'anna' });
    const ua = agent();
    await ua.send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const authorize = ua.hops.at(-1)?.location ?? '';
    // Follow the IdP up to the redirect back to carebridge, then finish in a fresh browser.
    const atIdp = await new UserAgent(t, { stopAt: ['carebridge.test'] }).go('GET', authorize);
    const before = (await refusalCodes(t)).length;
    const other = agent();
    const res = await other.send('GET', atIdp.stoppedAt ?? '');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('state_mismatch');
    expect((await refusalCodes(t)).length).toBe(before + 1);
  });

  it('Should refuse an ID token whose nonce is not the one sent', async () => {
    idp.signInAs('sub-anna', { email: 'anna@north.example', preferred_username: 'anna' });
    const ua = agent();
    await ua.send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const authorize = new URL(ua.hops.at(-1)?.location ?? '');
    // The state row now expects another nonce than the one the IdP will put in the ID token.
    await t.services.db.pool.query(
      "update sso_signin_states set nonce = 'another-nonce' where kind = 'oidc'",
    );
    const res = await ua.go('GET', authorize.toString());
    expect(res.res.status).toBe(400);
    expect(await res.res.text()).toContain('nonce_mismatch');
    expect(await refusalCodes(t)).toContain('nonce_mismatch');
  });

  it('Should refuse a replayed authorization code', async () => {
    idp.signInAs('sub-anna', { email: 'anna@north.example', preferred_username: 'anna' });
    const ua = new UserAgent(t, { stopAt: ['carebridge.test'] });
    await ua.send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const callback = (await ua.go('GET', ua.hops.at(-1)?.location ?? '')).stoppedAt ?? '';
    const first = await ua.send('GET', callback);
    expect(first.status).toBe(303);
    // A new sign-in in the same browser, answered with the code already redeemed.
    await ua.send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const freshState = new URL(ua.hops.at(-1)?.location ?? '').searchParams.get('state') ?? '';
    const replay = new URL(callback);
    replay.searchParams.set('state', freshState);
    const res = await ua.send('GET', replay.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('code_rejected');
    expect(await refusalCodes(t)).toContain('code_rejected');
    // And the first callback URL itself cannot be used twice either.
    const again = await ua.send('GET', callback);
    expect(again.status).toBe(400);
  });

  it('Should refuse a return URL on another host (no open redirect)', async () => {
    const res = await agent().send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent('https://evil.example/after-sign-in')}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('return_url');
    expect(await refusalCodes(t)).toContain('return_url');
    const prefix = await agent().send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent('https://care.example.evil.example/after-sign-in')}`,
    );
    expect(prefix.status).toBe(400);
  });

  it('Should refuse the sign-in of an inactive account with a page that says why', async () => {
    idp.signInAs('sub-dan', {
      email: 'dan@north.example',
      email_verified: true,
      preferred_username: 'dan',
      zoneinfo: 'Europe/Stockholm',
    });
    await signIn(agent());
    const dan = await userByName(t, tenantId, 'dan');
    await t.services.db.pool.query("update users set status = 'inactive' where id = $1", [dan?.id]);
    const { res, stoppedAt } = await signIn(agent());
    expect(stoppedAt).toBeUndefined();
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Your account has been deactivated');
    const refused = (await auditEvents(t, 'sso.signin_refused')).at(-1);
    expect(refused?.after['code']).toBe('account_inactive');
    expect(refused?.subject_id).toBe(dan?.id);
  });

  it('Should not link by an email the IdP does not say is verified', async () => {
    await t.services.directory.users.create(
      { tenantId, actor: { type: 'system', id: null }, requestId: null },
      {
        userName: 'eva',
        externalId: null,
        status: 'active',
        attrs: { emails: [{ value: 'eva@north.example', primary: true }] },
      },
    );
    idp.signInAs('sub-eva', {
      email: 'eva@north.example',
      email_verified: false,
      preferred_username: 'eva-idp',
      zoneinfo: 'Europe/Stockholm',
      locale: 'sv-SE',
    });
    const { res } = await signIn(agent());
    expect(res.status).toBe(409);
    expect(await refusalCodes(t)).toContain('account_conflict');
    const { rows } = await t.services.db.pool.query(
      'select count(*)::int as n from sso_identities i join users u on u.id = i.user_id where u.user_name = $1',
      ['eva'],
    );
    expect(rows[0].n).toBe(0);
  });

  it("Should never sign a person in to another tenant's account through a tenant's connection", async () => {
    const other = (await t.services.directory.tenants.ensure('south-care')).tenant.id;
    const southUser = await t.services.directory.users.create(
      { tenantId: other, actor: { type: 'system', id: null }, requestId: null },
      {
        userName: 'finn',
        externalId: null,
        status: 'active',
        attrs: { emails: [{ value: 'finn@south.example', primary: true }] },
      },
    );
    await putConnection(t, 'other', {
      protocol: 'oidc',
      allowedReturnUrls: [RETURN_URL],
      linking: 'verified_email',
      jit: false,
      oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
    });
    idp.signInAs('sub-finn', {
      email: 'finn@south.example',
      email_verified: true,
      preferred_username: 'finn',
    });
    const { res, stoppedAt } = await new UserAgent(t, { stopAt: [new URL(CARE_APP).host] }).go(
      'GET',
      `http://carebridge.test/sso/other/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    expect(stoppedAt).toBeUndefined();
    expect(res.status).toBe(403);
    const refused = (await auditEvents(t, 'sso.signin_refused')).at(-1);
    expect(refused?.after['code']).toBe('no_account');
    expect(refused?.tenant_id).toBe(tenantId);
    const { rows } = await t.services.db.pool.query(
      'select count(*)::int as n from sso_identities where user_id = $1',
      [southUser.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('Should answer 404 for a connection that does not exist', async () => {
    const res = await agent().send('GET', 'http://carebridge.test/sso/nope/login');
    expect(res.status).toBe(404);
  });
});
