import { randomUUID } from 'node:crypto';
import * as samlify from 'samlify';
import { generate } from 'selfsigned';

const REDIRECT = samlify.Constants.namespace.binding.redirect;
export const IDP_ENTITY_ID = 'https://idp.test/metadata';
export const IDP_SSO_URL = 'https://idp.test/sso';
export const IDP_SLO_URL = 'https://idp.test/slo';

/** A key pair and self-signed certificate made for this test run (never committed). */
export async function testKeyPair(cn: string): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  return { key: pems.private, cert: pems.cert };
}

export interface ResponseOptions {
  nameId: string;
  attributes?: Record<string, string>;
  inResponseTo?: string | null;
  audience?: string;
  recipient?: string;
  destination?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  confirmationNotOnOrAfter?: Date;
}

const esc = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/** A samlify identity provider with its own keys, that answers AuthnRequests as told. */
export interface TestSamlIdp {
  metadata: string;
  /** The AuthnRequest ID and RelayState of an SP-initiated redirect to the IdP. */
  readRequest(redirectUrl: string, spMetadata: string): Promise<{ id: string; relayState: string }>;
  /** The URL of a LogoutRequest for `nameId` to the SP's SLO endpoint (signed unless told). */
  logoutRequest(spMetadata: string, nameId: string, sign?: boolean): { id: string; url: string };
  /** The InResponseTo of a LogoutResponse the SP redirected to the IdP with. */
  readLogoutResponse(url: string, spMetadata: string): Promise<string>;
  /** A signed (and, if asked, encrypted) SAMLResponse, base64 as the POST binding sends it. */
  respond(spMetadata: string, acsUrl: string, opts: ResponseOptions): Promise<string>;
}

export async function startSamlIdp(
  opts: { encrypt?: boolean; keys?: { key: string; cert: string } } = {},
): Promise<TestSamlIdp> {
  const keys = opts.keys ?? (await testKeyPair('idp.test'));
  const idp = samlify.IdentityProvider({
    entityID: IDP_ENTITY_ID,
    privateKey: keys.key,
    signingCert: keys.cert,
    singleSignOnService: [{ Binding: REDIRECT, Location: IDP_SSO_URL }],
    singleLogoutService: [{ Binding: REDIRECT, Location: IDP_SLO_URL }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
    isAssertionEncrypted: opts.encrypt === true,
    loginResponseTemplate: { context: '' },
  });
  return {
    metadata: idp.getMetadata(),
    async readRequest(redirectUrl, spMetadata) {
      const url = new URL(redirectUrl);
      const sp = samlify.ServiceProvider({ metadata: spMetadata });
      const query = Object.fromEntries(url.searchParams);
      const parsed = await idp.parseLoginRequest(sp, 'redirect', {
        query,
        octetString: url.search.slice(1),
      });
      const request = (parsed.extract as { request: { id: string } }).request;
      return { id: request.id, relayState: url.searchParams.get('RelayState') ?? '' };
    },
    logoutRequest(spMetadata, nameId, sign = true) {
      const sp = samlify.ServiceProvider({ metadata: spMetadata, wantLogoutRequestSigned: sign });
      const { id, context } = idp.createLogoutRequest(sp, 'redirect', { logoutNameID: nameId });
      return { id, url: context };
    },
    async readLogoutResponse(url, spMetadata) {
      const u = new URL(url);
      const sp = samlify.ServiceProvider({ metadata: spMetadata });
      const parsed = await idp.parseLogoutResponse(sp, 'redirect', {
        query: Object.fromEntries(u.searchParams),
        octetString: u.search.slice(1),
      });
      return (parsed.extract as { response: { inResponseTo: string } }).response.inResponseTo;
    },
    async respond(spMetadata, acsUrl, o) {
      const sp = samlify.ServiceProvider({ metadata: spMetadata });
      const spEntityId = sp.entityMeta.getEntityID();
      const now = new Date();
      const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
      const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 300_000);
      const confirmEnd = o.confirmationNotOnOrAfter ?? notOnOrAfter;
      const id = `_${randomUUID()}`;
      const assertionId = `_${randomUUID()}`;
      const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
      const attrs = Object.entries(o.attributes ?? {})
        .map(
          ([k, v]) =>
            `<saml:Attribute Name="${esc(k)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue></saml:Attribute>`,
        )
        .join('');
      const xml =
        `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${esc(o.destination ?? acsUrl)}"${irt}>` +
        `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
        `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="${assertionId}" Version="2.0" IssueInstant="${now.toISOString()}">` +
        `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${confirmEnd.toISOString()}" Recipient="${esc(o.recipient ?? acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
        (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
        `</saml:Assertion></samlp:Response>`;
      const res = await idp.createLoginResponse(
        sp,
        { extract: { request: { id: o.inResponseTo ?? '' } } },
        'post',
        { email: o.nameId },
        { customTagReplacement: () => ({ id, context: xml }) },
      );
      return res.context;
    },
  };
}

/** An unsigned response: the same XML the IdP would sign, sent without a signature. */
export function stripSignature(samlResponse: string): string {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  return Buffer.from(xml.replace(/<(ds:)?Signature[\s\S]*?<\/(ds:)?Signature>/g, '')).toString(
    'base64',
  );
}

/** Edits the XML of a response (after it was signed). */
export function editResponse(samlResponse: string, edit: (xml: string) => string): string {
  return Buffer.from(edit(Buffer.from(samlResponse, 'base64').toString('utf8'))).toString('base64');
}
