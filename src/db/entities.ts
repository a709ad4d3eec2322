import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * The entities MikroORM manages through its entity manager: the small, rarely written
 * tables of the control plane. Users, groups and memberships are written with set-based
 * SQL by the directory service (see src/directory/), their schema lives in migrations/.
 */
export const TenantSchema = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: p.uuid().primary(),
    name: p.text(),
    settings: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Tenant = InferEntity<typeof TenantSchema>;

export const ApiTokenSchema = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.text(),
    scopes: p.array(),
    createdBy: p.uuid().nullable(),
    subjectUserId: p.uuid().nullable(),
    clientId: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    suspendedAt: p.datetime().nullable(),
  },
});
export type ApiToken = InferEntity<typeof ApiTokenSchema>;

export const OAuthClientSchema = defineEntity({
  name: 'OAuthClient',
  tableName: 'oauth_clients',
  properties: {
    clientId: p.text().primary(),
    tenantId: p.uuid(),
    name: p.text(),
    secretHash: p.text(),
    scopes: p.array(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export type OAuthClient = InferEntity<typeof OAuthClientSchema>;

export const SigningKeySchema = defineEntity({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    kid: p.text().primary(),
    alg: p.text(),
    publicJwk: p.json<Record<string, unknown>>(),
    privateJwk: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    retiredAt: p.datetime().nullable(),
  },
});
export type SigningKey = InferEntity<typeof SigningKeySchema>;

export const entities = [TenantSchema, ApiTokenSchema, OAuthClientSchema, SigningKeySchema];
