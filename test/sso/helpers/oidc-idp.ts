import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** A real OpenID provider (panva's oidc-provider) on 127.0.0.1, for one test file. */
export interface TestOidcIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A second client that authenticates with private_key_jwt (RFC 7523), and its key. */
  keyClientId: string;
  keyClientJwk: Record<string, unknown>;
  /** Who signs in at the next authorization request, and the claims the IdP holds. */
  signInAs(sub: string, claims: Record<string, unknown>): void;
  close(): Promise<void>;
}

export async function startOidcIdp(opts: { redirectUris: string[] }): Promise<TestOidcIdp> {
  const accounts = new Map<string, Record<string, unknown>>();
  let current: string | undefined;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  const clientId = 'carebridge';
  const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
  const clientKeys = await generateKeyPair('ES256', { extractable: true });
  const keyClientJwk = {
    ...(await exportJWK(clientKeys.privateKey)),
    kid: 'rp-key-1',
    alg: 'ES256',
  };
  const keyClientPublic = {
    ...(await exportJWK(clientKeys.publicKey)),
    kid: 'rp-key-1',
    alg: 'ES256',
    use: 'sig',
  };

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: 'carebridge-key',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [keyClientPublic] },
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-cookie-key-not-secret'] },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo'],
    },
    features: { devInteractions: { enabled: false } },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 300,
      Interaction: 600,
      Session: 600,
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...claims }) };
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider', err));
  const callback = provider.callback();
  // The interaction (login + consent) is answered at once for the account set by signInAs.
  server.on('request', async (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      try {
        const details = await provider.interactionDetails(req, res);
        const accountId = current;
        if (!accountId) throw new Error('signInAs() was not called');
        const grant = new provider.Grant({
          accountId,
          clientId: String(details.params['client_id']),
        });
        grant.addOIDCScope(String(details.params['scope']));
        const grantId = await grant.save();
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        );
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
      return;
    }
    callback(req, res);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    keyClientId: 'carebridge-key',
    keyClientJwk,
    signInAs(sub, claims) {
      accounts.set(sub, claims);
      current = sub;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
