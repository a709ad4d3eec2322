import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';
import {
  editResponse,
  IDP_SLO_URL,
  IDP_SSO_URL,
  type ResponseOptions,
  startSamlIdp,
  stripSignature,
  type TestSamlIdp,
  testKeyPair,
} from './helpers/saml-idp.ts';
import {
  auditEvents,
  putConnection,
  RETURN_URL,
  refusalCodes,
  userByName,
} from './helpers/sso-fixtures.ts';

const BASE = 'http://carebridge.test/sso';
let t: TestApp;
let idp: TestSamlIdp;
let encIdp: TestSamlIdp;
let tenantId: string;
const metadata = new Map<string, string>();

async function spMetadata(slug: string): Promise<string> {
  const cached = metadata.get(slug);
  if (cached) return cached;
  const xml = await (await rawRequest(t.app, `/sso/${slug}/metadata`)).text();
  metadata.set(slug, xml);
  return xml;
}

/** Starts an SP-initiated login and returns the AuthnRequest the IdP received. */
async function startLogin(slug: string, via: TestSamlIdp = idp) {
  const res = await rawRequest(
    t.app,
    `/sso/${slug}/login?return_to=${encodeURIComponent(RETURN_URL)}`,
  );
  expect(res.status).toBe(302);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(IDP_SSO_URL)).toBe(true);
  return via.readRequest(location, await spMetadata(slug));
}

async function postAcs(slug: string, samlResponse: string, relayState?: string) {
  const body = new URLSearchParams({
    SAMLResponse: samlResponse,
    ...(relayState ? { RelayState: relayState } : {}),
  });
  return rawRequest(t.app, `/sso/${slug}/acs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'sv-SE' },
    body: body.toString(),
  });
}

/** A full SP-initiated round trip with the response the IdP is told to make. */
async function signIn(
  slug: string,
  o: Omit<ResponseOptions, 'inResponseTo'>,
  via: TestSamlIdp = idp,
) {
  const request = await startLogin(slug, via);
  const response = await via.respond(await spMetadata(slug), `${BASE}/${slug}/acs`, {
    ...o,
    inResponseTo: request.id,
  });
  return { res: await postAcs(slug, response, request.relayState), response, request };
}

async function expectRefused(res: Response, code: string) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.headers.get('location')).toBeNull();
  expect(await res.text()).toContain(`data-code="${code}"`);
  expect((await refusalCodes(t)).at(-1)).toBe(code);
}

beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  idp = await startSamlIdp();
  const enc = await testKeyPair('sp-encryption.test');
  encIdp = await startSamlIdp({ encrypt: true });
  await putConnection(t, 'entra', {
    protocol: 'saml',
    allowedReturnUrls: [RETURN_URL],
    saml: { idpMetadataXml: idp.metadata },
  });
  await putConnection(t, 'entra-idp-initiated', {
    protocol: 'saml',
    allowedReturnUrls: [RETURN_URL],
    idpInitiated: true,
    saml: { idpMetadataXml: idp.metadata },
  });
  await putConnection(t, 'entra-encrypted', {
    protocol: 'saml',
    allowedReturnUrls: [RETURN_URL],
    saml: { idpMetadataXml: encIdp.metadata, spEncryptionKey: enc.key, spEncryptionCert: enc.cert },
  });
});
afterAll(async () => {
  await t?.close();
});

function person(name: string) {
  return {
    nameId: `${name}@north.example`,
    attributes: {
      userName: name,
      email: `${name}@north.example`,
      locale: 'sv-SE',
      zoneinfo: 'Europe/Stockholm',
    },
  };
}

const ANNA = {
  nameId: 'anna@north.example',
  attributes: {
    userName: 'anna.saml',
    givenName: 'Anna',
    surname: 'Berg',
    email: 'anna@north.example',
    locale: 'sv-SE',
    zoneinfo: 'Europe/Stockholm',
  },
};

describe('SAML service provider, happy path', () => {
  it('Should publish SP metadata with the entity id and the ACS on the POST binding', async () => {
    const res = await rawRequest(t.app, '/sso/entra/metadata');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await res.text();
    expect(xml).toContain('entityID="http://carebridge.test/sso/entra/metadata"');
    expect(xml).toContain('Location="http://carebridge.test/sso/entra/acs"');
    expect(xml).toContain('WantAssertionsSigned="true"');
  });

  it('Should create the account on an SP-initiated first login with locale and zone from attributes', async () => {
    const { res } = await signIn('entra', ANNA);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^https:\/\/care\.example\/after-sign-in\?token=/);
    const user = await userByName(t, tenantId, 'anna.saml');
    expect(user?.attrs['locale']).toBe('sv-SE');
    expect(user?.attrs['timezone']).toBe('Europe/Stockholm');
    expect(user?.attrs['name']).toEqual({ givenName: 'Anna', familyName: 'Berg' });
    const token = new URL(res.headers.get('location') ?? '').searchParams.get('token') ?? '';
    const claims = await t.services.keys.verify(token, { audience: 'https://care.example' });
    expect(claims.sub).toBe(user?.id);
    expect(claims['zoneinfo']).toBe('Europe/Stockholm');
  });

  it('Should accept an encrypted assertion', async () => {
    const { res, response } = await signIn(
      'entra-encrypted',
      {
        ...ANNA,
        nameId: 'enc@north.example',
        attributes: { ...ANNA.attributes, userName: 'enc.user', email: 'enc@north.example' },
      },
      encIdp,
    );
    expect(Buffer.from(response, 'base64').toString()).toContain('EncryptedAssertion');
    expect(res.status).toBe(303);
    expect(await userByName(t, tenantId, 'enc.user')).toBeDefined();
  });

  it('Should accept IdP-initiated sign-in where the connection allows it', async () => {
    const response = await idp.respond(
      await spMetadata('entra-idp-initiated'),
      `${BASE}/entra-idp-initiated/acs`,
      {
        ...person('ida'),
        inResponseTo: null,
      },
    );
    const res = await postAcs('entra-idp-initiated', response, RETURN_URL);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^https:\/\/care\.example\/after-sign-in\?token=/);
  });

  it('Should read the IdP metadata from a URL', async () => {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/samlmetadata+xml');
      res.end(idp.metadata);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
      await putConnection(t, 'entra-by-url', {
        protocol: 'saml',
        allowedReturnUrls: [RETURN_URL],
        saml: { idpMetadataUrl: url },
      });
      const { res } = await signIn('entra-by-url', person('uma'));
      expect(res.status).toBe(303);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('Should refuse sign-in through a switched-off connection', async () => {
    await putConnection(t, 'entra-off', {
      protocol: 'saml',
      enabled: false,
      allowedReturnUrls: [RETURN_URL],
      saml: { idpMetadataXml: idp.metadata },
    });
    const res = await rawRequest(
      t.app,
      `/sso/entra-off/login?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    await expectRefused(res, 'connection_disabled');
  });
});

describe('SAML attacks, each refused and audited', () => {
  it('Should refuse a response without a signature', async () => {
    const request = await startLogin('entra');
    const signed = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: request.id,
    });
    const res = await postAcs('entra', stripSignature(signed));
    await expectRefused(res, 'signature');
  });

  it('Should refuse a response whose signed assertion was altered', async () => {
    const request = await startLogin('entra');
    const signed = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: request.id,
    });
    const forged = editResponse(signed, (xml) =>
      xml.replace('anna@north.example</saml:NameID>', 'admin@north.example</saml:NameID>'),
    );
    await expectRefused(await postAcs('entra', forged), 'signature');
    expect(await userByName(t, tenantId, 'admin@north.example')).toBeUndefined();
  });

  it('Should refuse a response signed by another key than the IdP of the connection', async () => {
    const impostor = await startSamlIdp();
    const request = await startLogin('entra');
    const forged = await impostor.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: request.id,
    });
    await expectRefused(await postAcs('entra', forged), 'signature');
  });

  it('Should refuse XML signature wrapping (a forged assertion beside the signed one)', async () => {
    const request = await startLogin('entra');
    const signed = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: request.id,
    });
    const wrapped = editResponse(signed, (xml) => {
      const start = xml.indexOf('<saml:Assertion');
      const end = xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
      const forged = xml
        .slice(start, end)
        .replace(/<(ds:)?Signature[\s\S]*?<\/(ds:)?Signature>/, '')
        .replace(/ID="[^"]+"/, 'ID="_forged"')
        .replace('anna@north.example</saml:NameID>', 'admin@north.example</saml:NameID>');
      return xml.slice(0, start) + forged + xml.slice(start);
    });
    await expectRefused(await postAcs('entra', wrapped), 'assertion_wrapping');
  });

  it('Should refuse an assertion for another audience', async () => {
    const { res } = await signIn('entra', {
      ...ANNA,
      audience: 'https://other-sp.example/metadata',
    });
    await expectRefused(res, 'audience');
  });

  it('Should refuse an assertion for another recipient', async () => {
    const { res } = await signIn('entra', { ...ANNA, recipient: 'https://other-sp.example/acs' });
    await expectRefused(res, 'recipient');
  });

  it('Should refuse a response sent to another destination', async () => {
    const { res } = await signIn('entra', { ...ANNA, destination: 'https://other-sp.example/acs' });
    await expectRefused(res, 'destination');
  });

  it('Should refuse an expired assertion (past the bounded clock skew)', async () => {
    const past = new Date(Date.now() - 10 * 60_000);
    const { res } = await signIn('entra', {
      ...ANNA,
      notBefore: new Date(Date.now() - 20 * 60_000),
      notOnOrAfter: past,
      confirmationNotOnOrAfter: past,
    });
    await expectRefused(res, 'expired');
  });

  it('Should accept an assertion that ended within the clock skew', async () => {
    const justNow = new Date(Date.now() - 20_000);
    const { res } = await signIn('entra', {
      ...ANNA,
      notOnOrAfter: justNow,
      confirmationNotOnOrAfter: justNow,
    });
    expect(res.status).toBe(303);
  });

  it('Should refuse a replayed assertion', async () => {
    const response = await idp.respond(
      await spMetadata('entra-idp-initiated'),
      `${BASE}/entra-idp-initiated/acs`,
      {
        ...person('rita'),
        inResponseTo: null,
      },
    );
    expect((await postAcs('entra-idp-initiated', response)).status).toBe(303);
    await expectRefused(await postAcs('entra-idp-initiated', response), 'replay');
  });

  it('Should refuse an unsolicited response when IdP-initiated sign-in is off', async () => {
    const response = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: null,
    });
    await expectRefused(await postAcs('entra', response, RETURN_URL), 'unsolicited');
  });

  it('Should refuse a response to an AuthnRequest that was never sent here', async () => {
    const response = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: '_not-ours',
    });
    await expectRefused(await postAcs('entra', response), 'in_response_to');
  });

  it('Should refuse a Response re-pointed (unsigned InResponseTo) at another sign-in', async () => {
    const mine = await startLogin('entra');
    const signed = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: mine.id,
    });
    const victim = await startLogin('entra');
    const repointed = editResponse(signed, (xml) =>
      xml.replace(`InResponseTo="${mine.id}"`, `InResponseTo="${victim.id}"`),
    );
    await expectRefused(await postAcs('entra', repointed), 'in_response_to');
  });

  it("Should refuse a response meant for another connection's ACS", async () => {
    const request = await startLogin('entra');
    const response = await idp.respond(await spMetadata('entra'), `${BASE}/entra/acs`, {
      ...ANNA,
      inResponseTo: request.id,
    });
    // Same IdP, posted to the other connection's ACS: audience and recipient are not its own.
    await expectRefused(await postAcs('entra-idp-initiated', response), 'audience');
  });

  it('Should refuse the sign-in of an inactive account', async () => {
    const anna = await userByName(t, tenantId, 'anna.saml');
    await t.services.db.pool.query("update users set status = 'inactive' where id = $1", [
      anna?.id,
    ]);
    const { res } = await signIn('entra', ANNA);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Your account has been deactivated');
    const refused = (await auditEvents(t, 'sso.signin_refused')).at(-1);
    expect(refused?.after['code']).toBe('account_inactive');
    expect(refused?.subject_id).toBe(anna?.id);
  });
});

describe('SAML single logout', () => {
  it('Should answer a signed IdP logout request with a LogoutResponse, and audit the sign-out', async () => {
    const anna = await userByName(t, tenantId, 'anna.saml');
    const { id, url } = idp.logoutRequest(await spMetadata('entra'), 'anna@north.example');
    const query = new URL(url).search;
    const res = await rawRequest(t.app, `/sso/entra/slo${query}`);
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    expect(location.startsWith(IDP_SLO_URL)).toBe(true);
    expect(await idp.readLogoutResponse(location, await spMetadata('entra'))).toBe(id);
    const out = (await auditEvents(t, 'sso.logged_out')).at(-1);
    expect(out?.subject_id).toBe(anna?.id);
  });

  it('Should refuse an unsigned logout request', async () => {
    const { url } = idp.logoutRequest(await spMetadata('entra'), 'anna@north.example', false);
    const res = await rawRequest(t.app, `/sso/entra/slo${new URL(url).search}`);
    await expectRefused(res, 'signature');
  });

  it('Should refuse a logout request signed by another key', async () => {
    const impostor = await startSamlIdp();
    const { url } = impostor.logoutRequest(await spMetadata('entra'), 'anna@north.example');
    const res = await rawRequest(t.app, `/sso/entra/slo${new URL(url).search}`);
    await expectRefused(res, 'signature');
  });
});
