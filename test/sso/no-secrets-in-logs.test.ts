import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { startOidcIdp, type TestOidcIdp } from './helpers/oidc-idp.ts';
import { startSamlIdp, stripSignature } from './helpers/saml-idp.ts';
import { putConnection, RETURN_URL } from './helpers/sso-fixtures.ts';
import { UserAgent } from './helpers/user-agent.ts';

let t: TestApp;
let idp: TestOidcIdp;
let logged = '';

beforeAll(async () => {
  t = await createTestApp();
  idp = await startOidcIdp({ redirectUris: ['http://carebridge.test/sso/okta/callback'] });
  await putConnection(t, 'okta', {
    protocol: 'oidc',
    allowedReturnUrls: [RETURN_URL],
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
  });
  // The same services behind an app that logs everything, at trace level, to a string.
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  t.app = createApp(t.services, createLogger('trace', sink));
});
afterAll(async () => {
  await idp?.close();
  await t?.close();
});

describe('secrets and the log', () => {
  it('Should log refusals and sign-ins without client secrets, codes, states, assertions or tokens', async () => {
    idp.signInAs('sub-lo', {
      email: 'lo@north.example',
      preferred_username: 'lo',
      zoneinfo: 'Europe/Stockholm',
      locale: 'sv-SE',
    });
    const ua = new UserAgent(t, { stopAt: ['care.example'] });
    const ok = await ua.go(
      'GET',
      `http://carebridge.test/sso/okta/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    const token = new URL(ok.stoppedAt ?? '').searchParams.get('token') ?? '';
    expect(token).not.toBe('');
    const callback = ua.hops.find((h) => h.url.includes('/sso/okta/callback'))?.url ?? '';
    const code = new URL(callback).searchParams.get('code') ?? '';
    const state = new URL(callback).searchParams.get('state') ?? '';
    // A replay of the same callback is refused and logged.
    expect((await ua.send('GET', callback)).status).toBe(400);

    const saml = await startSamlIdp();
    await putConnection(t, 'entra', {
      protocol: 'saml',
      allowedReturnUrls: [RETURN_URL],
      saml: { idpMetadataXml: saml.metadata },
    });
    const spMeta = await (await t.app.request('http://carebridge.test/sso/entra/metadata')).text();
    const assertion = await saml.respond(spMeta, 'http://carebridge.test/sso/entra/acs', {
      nameId: 'lo@north.example',
      inResponseTo: '_x',
    });
    const res = await t.app.request('http://carebridge.test/sso/entra/acs', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: stripSignature(assertion) }).toString(),
    });
    expect(res.status).toBe(400);

    expect(logged).toContain('sign-in refused');
    for (const secret of [idp.clientSecret, code, state, token, assertion.slice(0, 40)]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(logged).not.toContain(secret);
    }
  });
});
