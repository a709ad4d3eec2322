import { type Context, Hono } from 'hono';
import type { AppEnv } from '../../http/app-env.ts';
import type { IdpIdentity } from '../attribute-mapping.ts';
import type { SsoConnection } from '../connections.ts';
import { checkReturnUrl } from '../return-url.ts';
import { completeSignIn } from '../sign-in.ts';
import { SsoError } from '../sso-error.ts';
import type { SsoRuntime } from '../sso-app.tsx';
import { answerOutcome, withConnection } from '../sso-app.tsx';
import {
  assertionFacts,
  checkAudience,
  checkConfirmationTime,
  checkDestination,
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
  for (const [k, v] of Object.entries(raw)) claims[k] = Array.isArray(v) && v.length === 1 ? v[0] : v;
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

/** The ACS steps, in order; each refusal names its rule. */
async function consumeResponse(c: Context<AppEnv>, rt: SsoRuntime, connection: SsoConnection) {
  const settings = connection.saml;
  if (!settings) throw new SsoError('unknown_connection', connection.slug);
  const urls = spUrls(rt.publicUrl, connection);
  const body = await c.req.parseBody();
  const { xml, samlResponse, relayState } = parseBinding(body);
  const { encrypted } = checkSingleAssertion(xml);
  if (encrypted && !settings.spEncryptionKey) {
    throw new SsoError('saml_invalid', 'an encrypted assertion, and no decryption key is set');
  }
  const idpXml = await rt.samlMetadata.xml(connection);
  const idp = identityProvider(idpXml, encrypted);
  const sp = serviceProvider(rt.publicUrl, connection);
  let result: Awaited<ReturnType<typeof sp.parseLoginResponse>>;
  try {
    result = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: samlResponse } });
  } catch (err) {
    throw samlifyError(err);
  }
  const extract = result.extract as Record<string, unknown>;
  const facts = assertionFacts(result.samlContent, extract);
  checkAudience(facts, urls.entityId);
  checkDestination(facts, urls.acs);
  checkRecipient(facts, urls.acs);
  checkConfirmationTime(facts, settings.clockSkewSeconds);
  await checkReplay(rt.pool, connection.id, facts, settings.clockSkewSeconds);
  let returnUrl: string;
  if (facts.inResponseTo) {
    const state = await rt.states.consumeSamlRequest(connection.id, facts.inResponseTo);
    if (!state) throw new SsoError('in_response_to', `no sign-in waits for ${facts.inResponseTo}`);
    returnUrl = state.returnUrl;
  } else {
    if (!connection.idpInitiated) throw new SsoError('unsolicited', 'no InResponseTo');
    // IdP-initiated: RelayState may name where to go, and only an allowed URL.
    returnUrl = checkReturnUrl(relayState, connection.allowedReturnUrls);
  }
  const identity = identityFromAssertion(connection, idp.entityMeta.getEntityID(), extract);
  return completeSignIn(rt, connection, identity, {
    requestId: c.get('requestId'),
    returnUrl,
    acceptLanguage: c.req.header('accept-language'),
  });
}

/** The SAML service provider: the ACS (POST binding) and SP metadata. */
export function samlRoutes(rt: SsoRuntime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/:connection/metadata', (c) =>
    withConnection(rt, c.req.param('connection'), 'saml', async (connection) =>
      c.body(serviceProvider(rt.publicUrl, connection).getMetadata(), 200, {
        'content-type': 'application/samlmetadata+xml',
      }),
    ),
  );

  app.post('/:connection/acs', (c) =>
    withConnection(rt, c.req.param('connection'), 'saml', async (connection) =>
      answerOutcome(c, rt, connection, await consumeResponse(c, rt, connection)),
    ),
  );
  return app;
}
