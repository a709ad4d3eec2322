import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Scope } from './api-tokens.ts';

/** A client secret has 256 bits of entropy, so a plain SHA-256 is a sound way to store it. */
function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export interface OAuthClientRecord {
  clientId: string;
  tenantId: string;
  scopes: Scope[];
}

/** OAuth 2.0 clients that obtain SCIM tokens by the client-credentials grant (RFC 6749 §4.4). */
export class OAuthClients {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates a client; the secret is shown once and only its hash is kept. */
  async create(
    tenantId: string,
    name: string,
    scopes: Scope[],
  ): Promise<{ clientId: string; clientSecret: string }> {
    const clientId = `cb_${randomBytes(12).toString('base64url')}`;
    const clientSecret = randomBytes(32).toString('base64url');
    await this.pool.query(
      'insert into oauth_clients (client_id, tenant_id, name, secret_hash, scopes) values ($1, $2, $3, $4, $5)',
      [clientId, tenantId, name, hashSecret(clientSecret), scopes],
    );
    return { clientId, clientSecret };
  }

  /** The client when the secret matches and it is not revoked; compared in constant time. */
  async authenticate(
    clientId: string,
    clientSecret: string,
  ): Promise<OAuthClientRecord | undefined> {
    const { rows } = await this.pool.query<{
      client_id: string;
      tenant_id: string;
      scopes: Scope[];
      secret_hash: string;
    }>(
      'select client_id, tenant_id, scopes, secret_hash from oauth_clients where client_id = $1 and revoked_at is null',
      [clientId],
    );
    const row = rows[0];
    const expected = Buffer.from(row?.secret_hash ?? hashSecret('no such client'));
    const actual = Buffer.from(hashSecret(clientSecret));
    const same = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (!row || !same) return undefined;
    return { clientId: row.client_id, tenantId: row.tenant_id, scopes: row.scopes };
  }

  async revoke(tenantId: string, clientId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'update oauth_clients set revoked_at = now() where tenant_id = $1 and client_id = $2 and revoked_at is null',
      [tenantId, clientId],
    );
    return (rowCount ?? 0) > 0;
  }
}
