import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createServices } from '../../src/services.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { startOidcIdp, type TestOidcIdp } from './helpers/oidc-idp.ts';
import { startSamlIdp } from './helpers/saml-idp.ts';
import { CARE_APP, putConnection, RETURN_URL, userByName } from './helpers/sso-fixtures.ts';
import { UserAgent } from './helpers/user-agent.ts';

let t: TestApp;
let idp: TestOidcIdp;
let other: ReturnType<typeof createApp>;

beforeAll(async () => {
  t = await createTestApp();
  idp = await startOidcIdp({ redirectUris: ['http://carebridge.test/sso/okta/callback'] });
  await putConnection(t, 'okta', {
    protocol: 'oidc',
    allowedReturnUrls: [RETURN_URL],
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
  });
  // A second carebridge instance: its own services and memory, the same database.
  other = createApp(
    await createServices(t.services.config, t.database.db),
    pino({ level: 'silent' }),
  );
});
afterAll(async () => {
  await idp?.close();
  await t?.close();
});

describe('two carebridge instances behind a load balancer', () => {
  it('Should finish on one instance an OIDC sign-in the other started', async () => {
    idp.signInAs('sub-vera', {
      email: 'vera@north.example',
      preferred_username: 'vera',
      zoneinfo: 'Europe/Stockholm',
      locale: 'sv-SE',
    });
    const ua = new UserAgent(t, { stopAt: ['carebridge.test'] });
    await ua.send(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const callback = (await ua.go('GET', ua.hops.at(-1)?.location ?? '')).stoppedAt ?? '';
    const cookie = ua.cookie('carebridge.test', 'cb_sso') ?? '';
    const res = await other.request(callback, { headers: { cookie: `cb_sso=${cookie}` } });
    expect(res.status).toBe(303);
    const token = new URL(res.headers.get('location') ?? '').searchParams.get('token') ?? '';
    // Signed by the other instance, verified by this one.
    const claims = await t.services.keys.verify(token, { audience: CARE_APP });
    expect(claims.sub).toBe((await userByName(t, claims['tenant'] as string, 'vera'))?.id);
  });

  it('Should accept on one instance the SAML answer to a request the other sent', async () => {
    const saml = await startSamlIdp();
    await putConnection(t, 'entra', {
      protocol: 'saml',
      allowedReturnUrls: [RETURN_URL],
      saml: { idpMetadataXml: saml.metadata },
    });
    const start = await t.app.request(
      `http://carebridge.test/sso/entra/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const spMeta = await (await other.request('http://carebridge.test/sso/entra/metadata')).text();
    const request = await saml.readRequest(start.headers.get('location') ?? '', spMeta);
    const response = await saml.respond(spMeta, 'http://carebridge.test/sso/entra/acs', {
      nameId: 'wilma@north.example',
      attributes: { userName: 'wilma', locale: 'sv-SE', zoneinfo: 'Europe/Stockholm' },
      inResponseTo: request.id,
    });
    const res = await other.request('http://carebridge.test/sso/entra/acs', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        SAMLResponse: response,
        RelayState: request.relayState,
      }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('token=');
  });
});
