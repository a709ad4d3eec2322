import { type Context, Hono } from 'hono';
import * as samlify from 'samlify';
import { appendAudit } from '../../audit/audit-log.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { findLinkedAccount } from '../account-steps.ts';
import type { IdpIdentity } from '../attribute-mapping.ts';
import type { SsoConnection } from '../connections.ts';
import { checkReturnUrl } from '../return-url.ts';
import { completeSignIn, ssoContext } from '../sign-in.ts';
import type { SsoRuntime } from '../sso-app.tsx';
import { answerOutcome, withConnection } from '../sso-app.tsx';
import { SsoError } from '../sso-error.ts';
import {
  type AssertionFacts,
  assertionFacts,
  checkAudience,
  checkConfirmationTime,
  checkDestination,
  checkInResponseToAgrees,
  checkRecipient,
  checkReplay,
  checkSingleAssertion,
  parseBinding,
  samlifyError,
} from './saml-checks.ts';
import { identityProvider, serviceProvider, spUrls } from './saml-entities.ts';

/** Step, login: an AuthnRequest on the redirect binding, its ID kept for InResponseTo. */
export async function startSamlLogin(
  rt: SsoRuntime,
  connection: SsoConnection,
  returnUrl: string,
): Promise<string> {
  const sp = serviceProvider(rt.publicUrl, connection);
  const idp = identityProvider(await rt.samlMetadata.xml(connection));
  // The request id is known only once samlify built the request; the RelayState must be
  // in the (possibly signed) URL, so the state value is chosen first and the row written after.
  const relayState = await rt.states.save({
    tenantId: connection.tenantId,
    connectionId: connection.id,
    kind: 'saml',
    browserHash: '',
    nonce: null,
    codeVerifier: null,
    samlRequestId: null,
    returnUrl,
    payload: null,
  });
  const { id, context } = sp.createLoginRequest(idp, 'redirect', { relayState });
  await rt.states.attachSamlRequest(relayState, id);
  return context;
}

function str(v: unknown): string | undefined {
  if (Array.isArray(v)) return str(v[0]);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The identity a verified assertion names: IdP entity id + NameID. */
export function identityFromAssertion(
  connection: SsoConnection,
  idpEntityId: string,
  extract: Record<string, unknown>,
): IdpIdentity {
  const subject = str(extract['nameID']);
  if (!subject) throw new SsoError('saml_invalid', 'the assertion has no NameID');
  const raw = (extract['attributes'] ?? {}) as Record<string, unknown>;
  const claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw))
    claims[k] = Array.isArray(v) && v.length === 1 ? v[0] : v;
  const email = str(claims['email']) ?? (subject.includes('@') ? subject : undefined);
  return {
    issuer: idpEntityId,
    subject,
    claims: { ...claims, nameID: subject },
    email,
    emailVerified: connection.saml?.emailVerified === true && email !== undefined,
    locale: str(claims['locale']),
    zoneinfo: str(claims['zoneinfo']) ?? str(claims['timezone']),
  };
}

/**
 * Step: samlify's own checks (XSD, signature of the response or the assertion against the
 * IdP's metadata certificate, issuer, NotBefore/NotOnOrAfter within the skew, decryption).
 * Returns the extracted fields and the verified, decrypted document.
 */
async function verifyResponse(
  rt: SsoRuntime,
  connection: SsoConnection,
  xml: string,
  samlResponse: string,
  encrypted: boolean,
) {
  const idp = identityProvider(await rt.samlMetadata.xml(connection), encrypted);
  const sp = serviceProvider(rt.publicUrl, connection);
  let result: Awaited<ReturnType<typeof sp.parseLoginResponse>>;
  try {
    result = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: samlResponse } });
  } catch (err) {
    throw samlifyError(err);
  }
  // samlify verified the decrypted assertion but hands back the encrypted document; the
  // facts it does not check are read from the decrypted one, held to one assertion too.
  const verifiedXml = encrypted
    ? (await samlify.SamlLib.decryptAssertion(sp, xml))[0]
    : result.samlContent;
  if (encrypted) checkSingleAssertion(verifiedXml);
  return {
    idpEntityId: idp.entityMeta.getEntityID(),
    extract: result.extract as Record<string, unknown>,
    verifiedXml,
  };
}

/**
 * Step: the sign-in this answers. With InResponseTo, the waiting AuthnRequest of this
 * connection (taken once); without, only where IdP-initiated sign-in is allowed, going to
 * the RelayState when it is an allowed return URL.
 */
async function checkInResponseTo(
  rt: SsoRuntime,
  connection: SsoConnection,
  facts: AssertionFacts,
  relayState: string | undefined,
): Promise<string> {
  checkInResponseToAgrees(facts);
  if (facts.inResponseTo) {
    const state = await rt.states.consumeSamlRequest(connection.id, facts.inResponseTo);
    if (!state) throw new SsoError('in_response_to', `no sign-in waits for ${facts.inResponseTo}`);
    return state.returnUrl;
  }
  if (!connection.idpInitiated) throw new SsoError('unsolicited', 'no InResponseTo');
  return checkReturnUrl(relayState, connection.allowedReturnUrls);
}

/** The ACS steps, in order; each refusal names its rule. */
async function consumeResponse(c: Context<AppEnv>, rt: SsoRuntime, connection: SsoConnection) {
  const settings = connection.saml;
  if (!settings) throw new SsoError('unknown_connection', connection.slug);
  const urls = spUrls(rt.publicUrl, connection);
  const { xml, samlResponse, relayState } = parseBinding(await c.req.parseBody());
  const { encrypted } = checkSingleAssertion(xml);
  if (encrypted && !settings.spEncryptionKey) {
    throw new SsoError('saml_invalid', 'an encrypted assertion, and no decryption key is set');
  }
  const verified = await verifyResponse(rt, connection, xml, samlResponse, encrypted);
  const facts = assertionFacts(verified.verifiedXml, verified.extract);
  checkAudience(facts, urls.entityId);
  checkDestination(facts, urls.acs);
  checkRecipient(facts, urls.acs);
  checkConfirmationTime(facts, settings.clockSkewSeconds);
  await checkReplay(rt.pool, connection.id, facts, settings.clockSkewSeconds);
  const returnUrl = await checkInResponseTo(rt, connection, facts, relayState);
  const identity = identityFromAssertion(connection, verified.idpEntityId, verified.extract);
  return completeSignIn(rt, connection, identity, {
    requestId: c.get('requestId'),
    returnUrl,
    acceptLanguage: c.req.header('accept-language'),
  });
}

/** The signed part of a redirect-binding query (Bindings §3.4.4.1): as received, less `Signature`. */
export function redirectOctetString(rawQuery: string): string {
  return rawQuery
    .split('&')
    .filter((part) => !part.startsWith('Signature='))
    .join('&');
}

/**
 * Single logout started at the IdP (Profiles §4.4, redirect binding): the signed
 * LogoutRequest is verified, the sign-out audited for the account it names, and a
 * LogoutResponse sent back. carebridge keeps no session of its own: the care application's
 * token expires within minutes.
 */
async function singleLogout(c: Context<AppEnv>, rt: SsoRuntime, connection: SsoConnection) {
  const raw = new URL(c.req.url).search.slice(1);
  const query = Object.fromEntries(new URLSearchParams(raw));
  if (!query['SAMLRequest']) throw new SsoError('saml_invalid', 'no SAMLRequest');
  const idpXml = await rt.samlMetadata.xml(connection);
  const idp = identityProvider(idpXml, false, Boolean(connection.saml?.spSigningKey));
  const sp = serviceProvider(rt.publicUrl, connection);
  let result: Awaited<ReturnType<typeof sp.parseLogoutRequest>>;
  try {
    result = await sp.parseLogoutRequest(idp, 'redirect', {
      query,
      octetString: redirectOctetString(raw),
    });
  } catch (err) {
    throw samlifyError(err);
  }
  const extract = result.extract as { issuer?: string; nameID?: string; request?: { id?: string } };
  const issuer = idp.entityMeta.getEntityID();
  if (extract.issuer !== issuer)
    throw new SsoError('issuer', `issuer ${extract.issuer ?? '(none)'}`);
  const subject = extract.nameID ?? '';
  const user = await findLinkedAccount(rt.pool, connection, {
    issuer,
    subject,
    claims: {},
    email: undefined,
    emailVerified: false,
    locale: undefined,
    zoneinfo: undefined,
  });
  await appendAudit(rt.pool, ssoContext(connection, c.get('requestId')), {
    subjectType: user ? 'user' : 'sso_connection',
    subjectId: user?.id ?? connection.id,
    type: 'sso.logged_out',
    after: { connection: connection.slug, initiatedBy: 'idp' },
  });
  const { context } = sp.createLogoutResponse(
    idp,
    { extract: { request: { id: extract.request?.id ?? '' } } },
    'redirect',
    { relayState: query['RelayState'] ?? '' },
  );
  return c.redirect(context, 302);
}

/** The SAML service provider: the ACS (POST binding), single logout and SP metadata. */
export function samlRoutes(rt: SsoRuntime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:connection/metadata', (c) =>
    withConnection(rt, c.req.param('connection'), 'saml', async (connection) =>
      c.body(serviceProvider(rt.publicUrl, connection).getMetadata(), 200, {
        'content-type': 'application/samlmetadata+xml',
      }),
    ),
  );

  app.get('/:connection/slo', (c) =>
    withConnection(rt, c.req.param('connection'), 'saml', (connection) =>
      singleLogout(c, rt, connection),
    ),
  );

  app.post('/:connection/acs', (c) =>
    withConnection(rt, c.req.param('connection'), 'saml', async (connection) =>
      answerOutcome(c, rt, connection, await consumeResponse(c, rt, connection)),
    ),
  );
  return app;
}
