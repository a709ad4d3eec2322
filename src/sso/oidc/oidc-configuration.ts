import { webcrypto } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcSettings } from '../connection-settings.ts';
import type { SsoConnection } from '../connections.ts';
import { SsoError } from '../sso-error.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The relying party's view of one connection's issuer (its discovery document and keys).
 * Cached per process by connection version: a cache of the IdP's public metadata, not
 * sign-in state, so losing it costs one discovery request.
 */
export class OidcConfigurations {
  private readonly cache = new Map<string, { version: number; config: client.Configuration }>();

  async get(connection: SsoConnection): Promise<client.Configuration> {
    const settings = connection.oidc;
    if (!settings) throw new SsoError('unknown_connection', `${connection.slug} is not OIDC`);
    const version = connection.updatedAt.getTime();
    const cached = this.cache.get(connection.id);
    if (cached && cached.version === version) return cached.config;
    const config = await discover(settings);
    this.cache.set(connection.id, { version, config });
    return config;
  }
}

async function clientAuth(settings: OidcSettings): Promise<client.ClientAuth> {
  switch (settings.clientAuth) {
    case 'client_secret_post':
      return client.ClientSecretPost(settings.clientSecret);
    case 'private_key_jwt': {
      if (!settings.privateKeyJwk) throw new Error('private_key_jwt needs privateKeyJwk');
      const jwk = settings.privateKeyJwk as webcrypto.JsonWebKey & { alg?: string; kid?: string };
      const alg = jwk.alg ?? 'RS256';
      const key = await webcrypto.subtle.importKey(
        'jwk',
        jwk,
        alg.startsWith('ES')
          ? { name: 'ECDSA', namedCurve: jwk.crv ?? 'P-256' }
          : { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${alg.slice(2)}` },
        false,
        ['sign'],
      );
      return client.PrivateKeyJwt(jwk.kid ? { key, kid: jwk.kid } : key);
    }
    default:
      return client.ClientSecretBasic(settings.clientSecret);
  }
}

async function discover(settings: OidcSettings): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  // Plain http only to an IdP on this machine (development and tests), never across a network.
  const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
  try {
    return await client.discovery(
      issuer,
      settings.clientId,
      undefined,
      await clientAuth(settings),
      insecure ? { execute: [client.allowInsecureRequests] } : {},
    );
  } catch (err) {
    throw new SsoError(
      'idp_error',
      `discovery of ${settings.issuer} failed: ${(err as Error).message}`,
    );
  }
}
