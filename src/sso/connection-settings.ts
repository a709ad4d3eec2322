import { z } from 'zod';

/**
 * Which user attribute a claim (OIDC) or attribute (SAML) fills. Keys are user attribute
 * paths (`userName`, `name.givenName`, `emails`, or an extension attribute by its full
 * URN, `urn:…:enterprise:2.0:User:employeeNumber`); values are claim or attribute names.
 */
export const AttributeMappingSchema = z.record(z.string().min(1), z.string().min(1));
export type AttributeMapping = z.infer<typeof AttributeMappingSchema>;

const PEM = z.string().includes('-----BEGIN');

export const OidcSettingsSchema = z.object({
  /** The issuer; its discovery document is read from `/.well-known/openid-configuration`. */
  issuer: z.url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  clientAuth: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
    .default('client_secret_basic'),
  /** The private JWK for `private_key_jwt` (RFC 7523 §2.2). */
  privateKeyJwk: z.record(z.string(), z.unknown()).optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
  /** Read the userinfo endpoint after the token exchange (OIDC Core §5.3). */
  userinfo: z.boolean().default(true),
});
export type OidcSettings = z.infer<typeof OidcSettingsSchema>;

export const SamlSettingsSchema = z
  .object({
    idpMetadataXml: z.string().includes('EntityDescriptor').optional(),
    idpMetadataUrl: z.url().optional(),
    /** Our signing key pair for AuthnRequests and SP metadata (optional). */
    spSigningKey: PEM.optional(),
    spSigningCert: PEM.optional(),
    /** Our encryption key pair: set it to accept encrypted assertions. */
    spEncryptionKey: PEM.optional(),
    spEncryptionCert: PEM.optional(),
    /** Clock skew allowed on NotBefore/NotOnOrAfter, in seconds (bounded). */
    clockSkewSeconds: z.number().int().min(0).max(300).default(60),
    nameIdFormat: z.string().default('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'),
    /** Whether the IdP's email attribute counts as verified (for linking by email). */
    emailVerified: z.boolean().default(false),
  })
  .refine((s) => s.idpMetadataXml || s.idpMetadataUrl, {
    message: 'idpMetadataXml or idpMetadataUrl is required',
  });
export type SamlSettings = z.infer<typeof SamlSettingsSchema>;

const common = {
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a slug is 1-63 lower-case letters, digits or "-"'),
  displayName: z.string().min(1).max(200).optional(),
  /** Create the account on first sign-in (just in time). */
  jit: z.boolean().default(true),
  /** `identity`: link by stored IdP identity only; `verified_email`: also by verified email. */
  linking: z.enum(['identity', 'verified_email']).default('identity'),
  /** Accept SAML responses nobody asked for (IdP-initiated). Off by default. */
  idpInitiated: z.boolean().default(false),
  defaultGroups: z.array(z.uuid()).default([]),
  /** Exact origins+paths the care application may be sent back to. */
  allowedReturnUrls: z.array(z.url()).min(1),
  attributeMapping: AttributeMappingSchema.default({}),
  /** `always`: later sign-ins copy mapped attributes; `never`: only the first login does. */
  updateAttributes: z.enum(['always', 'never']).default('always'),
  enabled: z.boolean().default(true),
};

/** What an admin (API, CLI or config file) gives to create or replace a connection. */
export const ConnectionInputSchema = z.discriminatedUnion('protocol', [
  z.object({ ...common, protocol: z.literal('oidc'), oidc: OidcSettingsSchema }),
  z.object({ ...common, protocol: z.literal('saml'), saml: SamlSettingsSchema }),
]);
export type ConnectionInput = z.infer<typeof ConnectionInputSchema>;

/** A JSON config file of connections (`SSO_CONFIG_FILE`), one entry per tenant name. */
export const ConnectionFileSchema = z.object({
  connections: z.array(z.object({ tenant: z.string().min(1) }).and(ConnectionInputSchema)),
});
