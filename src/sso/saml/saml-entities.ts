import * as samlify from 'samlify';
import type { SamlSettings } from '../connection-settings.ts';
import type { SsoConnection } from '../connections.ts';
import { SsoError } from '../sso-error.ts';
import { validate } from './schema-validator.ts';

// samlify validates every message against the SAML XSDs; this validator is pure JS
// (libxml2 compiled to JS, wrapped to undo its side effects), so no Java or native build.
samlify.setSchemaValidator({ validate });

const POST = samlify.Constants.namespace.binding.post;
const REDIRECT = samlify.Constants.namespace.binding.redirect;

/** The URLs the IdP is given for a connection. */
export function spUrls(publicUrl: string, connection: SsoConnection) {
  const base = `${publicUrl}/sso/${connection.slug}`;
  return {
    entityId: `${base}/metadata`,
    acs: `${base}/acs`,
    slo: `${base}/slo`,
    metadata: `${base}/metadata`,
  };
}

function settingsOf(connection: SsoConnection): SamlSettings {
  if (!connection.saml) throw new SsoError('unknown_connection', `${connection.slug} is not SAML`);
  return connection.saml;
}

/**
 * Our service provider for one connection: signed assertions or responses required,
 * encrypted assertions accepted when the connection has an encryption key pair.
 */
export function serviceProvider(publicUrl: string, connection: SsoConnection) {
  const s = settingsOf(connection);
  const urls = spUrls(publicUrl, connection);
  const skew = s.clockSkewSeconds * 1000;
  return samlify.ServiceProvider({
    entityID: urls.entityId,
    assertionConsumerService: [{ Binding: POST, Location: urls.acs }],
    singleLogoutService: [{ Binding: REDIRECT, Location: urls.slo }],
    wantAssertionsSigned: true,
    // An IdP's logout request must be signed: anyone could otherwise end sessions.
    wantLogoutRequestSigned: true,
    authnRequestsSigned: Boolean(s.spSigningKey && s.spSigningCert),
    nameIDFormat: [s.nameIdFormat],
    clockDrifts: [-skew, skew],
    ...(s.spSigningKey && s.spSigningCert
      ? { privateKey: s.spSigningKey, signingCert: s.spSigningCert }
      : {}),
    ...(s.spEncryptionKey && s.spEncryptionCert
      ? { encPrivateKey: s.spEncryptionKey, encryptCert: s.spEncryptionCert }
      : {}),
  });
}

/** The IdP metadata of connections that name it by URL, cached by connection version. */
export class SamlIdpMetadata {
  private readonly cache = new Map<string, { version: number; xml: string }>();

  async xml(connection: SsoConnection): Promise<string> {
    const s = settingsOf(connection);
    if (s.idpMetadataXml) return s.idpMetadataXml;
    const version = connection.updatedAt.getTime();
    const cached = this.cache.get(connection.id);
    if (cached?.version === version) return cached.xml;
    const res = await fetch(s.idpMetadataUrl ?? '', { redirect: 'error' }).catch(() => undefined);
    if (!res?.ok)
      throw new SsoError('idp_error', `IdP metadata at ${s.idpMetadataUrl} unreachable`);
    const xml = await res.text();
    this.cache.set(connection.id, { version, xml });
    return xml;
  }
}

/**
 * The connection's IdP; `encrypted` says whether this response carries an EncryptedAssertion,
 * `signLogoutResponses` whether our LogoutResponses to it are signed (needs our signing key).
 */
export function identityProvider(
  metadataXml: string,
  encrypted = false,
  signLogoutResponses = false,
) {
  return samlify.IdentityProvider({
    metadata: metadataXml,
    isAssertionEncrypted: encrypted,
    wantLogoutResponseSigned: signLogoutResponses,
  });
}
