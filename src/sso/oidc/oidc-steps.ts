import * as client from 'openid-client';
import type { IdpIdentity } from '../attribute-mapping.ts';
import type { SsoConnection } from '../connections.ts';
import {
  browserMatches,
  randomToken,
  type SigninState,
  type SigninStates,
  sha256,
} from '../signin-state.ts';
import { SsoError } from '../sso-error.ts';

/** Where the IdP sends the browser back (registered at the IdP as the redirect URI). */
export function redirectUri(publicUrl: string, connection: SsoConnection): string {
  return `${publicUrl}/sso/${connection.slug}/callback`;
}

/**
 * Step, login: a new authorization request (OIDC Core §3.1.2.1) with PKCE S256
 * (RFC 7636), state and nonce kept in the database, bound to this browser by a cookie.
 */
export async function startAuthorization(
  config: client.Configuration,
  states: SigninStates,
  connection: SsoConnection,
  opts: { publicUrl: string; returnUrl: string },
): Promise<{ location: string; browser: string }> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const browser = randomToken();
  const state = await states.save({
    tenantId: connection.tenantId,
    connectionId: connection.id,
    kind: 'oidc',
    browserHash: sha256(browser),
    nonce,
    codeVerifier,
    samlRequestId: null,
    returnUrl: opts.returnUrl,
    payload: null,
  });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(opts.publicUrl, connection),
    scope: (connection.oidc?.scopes ?? ['openid']).join(' '),
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { location: url.toString(), browser };
}

/**
 * Step, callback: takes the state named by the callback once, and only from the browser
 * that started it (the binding cookie); anything else is `state_mismatch`.
 */
export async function takeState(
  states: SigninStates,
  connection: SsoConnection,
  stateParam: string | undefined,
  browserCookie: string | undefined,
): Promise<SigninState> {
  if (!stateParam) throw new SsoError('state_mismatch', 'the callback carries no state');
  const state = await states.consume(stateParam, 'oidc', connection.id);
  if (!state) throw new SsoError('state_mismatch', 'unknown, used or expired state');
  if (!browserMatches(state.browserHash, browserCookie)) {
    throw new SsoError('state_mismatch', 'the state was started by another browser');
  }
  return state;
}

/**
 * Step, callback: redeems the code with the PKCE verifier and validates the ID token
 * (signature, issuer, audience, expiry, nonce: OIDC Core §3.1.3.7), then reads userinfo.
 */
export async function redeemCode(
  config: client.Configuration,
  connection: SsoConnection,
  state: SigninState,
  callbackUrl: URL,
): Promise<IdpIdentity> {
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: state.codeVerifier ?? '',
      expectedNonce: state.nonce ?? '',
      expectedState: client.skipStateCheck,
      idTokenExpected: true,
    });
  } catch (err) {
    throw oidcError(err);
  }
  const idClaims = tokens.claims();
  if (!idClaims) throw new SsoError('id_token_invalid', 'no ID token');
  let claims: Record<string, unknown> = { ...idClaims };
  if (connection.oidc?.userinfo !== false && tokens.access_token) {
    try {
      const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      claims = { ...info, ...idClaims };
    } catch (err) {
      throw oidcError(err);
    }
  }
  return identityFromClaims(config.serverMetadata().issuer, claims);
}

/** The identity an OIDC sign-in names: issuer + `sub` (OIDC Core §2), never the email. */
export function identityFromClaims(issuer: string, claims: Record<string, unknown>): IdpIdentity {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const subject = str(claims['sub']);
  if (!subject) throw new SsoError('id_token_invalid', 'the ID token has no subject');
  return {
    issuer,
    subject,
    claims,
    email: str(claims['email']),
    emailVerified: claims['email_verified'] === true,
    locale: str(claims['locale']),
    zoneinfo: str(claims['zoneinfo']),
  };
}

/** Maps openid-client's failures to the rule that refused. */
export function oidcError(err: unknown): SsoError {
  if (err instanceof SsoError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    return new SsoError('idp_error', `the IdP answered ${err.error}`);
  }
  if (err instanceof client.ResponseBodyError) {
    return new SsoError('code_rejected', `the token endpoint answered ${err.error}`);
  }
  // openid-client wraps oauth4webapi's error, whose cause names the claim compared.
  const e = err as {
    code?: string;
    message?: string;
    cause?: { claim?: string; cause?: { claim?: string } };
  };
  const claim = e.cause?.claim ?? e.cause?.cause?.claim;
  if (e.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claim === 'nonce') {
    return new SsoError('nonce_mismatch', 'the ID token nonce is not the one sent');
  }
  return new SsoError('id_token_invalid', e.message ?? 'the IdP response could not be validated');
}
