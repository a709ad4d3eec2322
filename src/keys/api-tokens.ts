import type pg from 'pg';
import { newId } from '../directory/uuid.ts';
import type { SigningKeys } from './signing-keys.ts';

/**
 * What a token may do. `scim` reads and writes over SCIM; `scim:read` only reads;
 * `scim:me` reaches only `/Me`, the account of the user the token was issued to.
 */
export const SCOPES = ['scim', 'scim:read', 'scim:me', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const API_AUDIENCE = 'carebridge-api';

/** The caller a valid bearer token stands for. */
export interface TokenPrincipal {
  tokenId: string;
  tenantId: string;
  scopes: Scope[];
  /** Set for a token issued to a user (the `/Me` endpoint). */
  userId: string | null;
}

/** Why a bearer token was refused (RFC 6750 §3.1 `invalid_token`). */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

interface TokenStatus {
  usable: boolean;
  checkedAt: number;
}

const MAX_CACHED = 10_000;

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/**
 * Bearer tokens: JWTs signed by carebridge, each with a row in `api_tokens` so it can be
 * revoked or suspended. A token's state is cached per process for a few seconds (the
 * configured bound on how late a revocation reaches another instance).
 */
export class ApiTokens {
  private readonly status = new Map<string, TokenStatus>();
  /** Signature checks cost ~0.25 ms; a verified token's claims never change, so keep them. */
  private readonly verified = new Map<string, { principal: TokenPrincipal; expiresAt: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly keys: SigningKeys,
    private readonly cacheMillis: number,
  ) {}

  /** Issues a new token and returns it with its id. */
  async issue(opts: {
    tenantId: string;
    scopes: Scope[];
    name: string;
    createdBy?: string | null;
    userId?: string | null;
    clientId?: string | null;
    expiresInSeconds?: number;
  }): Promise<{ id: string; token: string; expiresAt: Date | null }> {
    const id = newId();
    const expiresAt = opts.expiresInSeconds
      ? new Date(Date.now() + opts.expiresInSeconds * 1000)
      : null;
    await this.pool.query(
      `insert into api_tokens (id, tenant_id, name, scopes, created_by, subject_user_id, client_id, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        opts.tenantId,
        opts.name,
        opts.scopes,
        opts.createdBy ?? null,
        opts.userId ?? null,
        opts.clientId ?? null,
        expiresAt,
      ],
    );
    const token = await this.keys.sign(
      {
        jti: id,
        sub: opts.userId ?? `token:${id}`,
        tenant: opts.tenantId,
        scope: opts.scopes.join(' '),
      },
      {
        audience: API_AUDIENCE,
        ...(expiresAt ? { expiresIn: Math.floor(expiresAt.getTime() / 1000) } : {}),
      },
    );
    return { id, token, expiresAt };
  }

  /** Revokes a token of the tenant; returns false when there is no such token. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'update api_tokens set revoked_at = now() where tenant_id = $1 and id = $2 and revoked_at is null',
      [tenantId, id],
    );
    this.status.delete(id);
    return (rowCount ?? 0) > 0;
  }

  /** Verifies a bearer token and returns who it stands for. */
  async authenticate(token: string): Promise<TokenPrincipal> {
    const known = this.verified.get(token);
    const principal =
      known && known.expiresAt > Date.now() ? known.principal : await this.verifySignature(token);
    if (!(await this.isUsable(principal.tokenId)))
      throw new InvalidTokenError('the token was revoked or suspended');
    return principal;
  }

  private async verifySignature(token: string): Promise<TokenPrincipal> {
    let claims: Awaited<ReturnType<SigningKeys['verify']>>;
    try {
      claims = await this.keys.verify(token, { audience: API_AUDIENCE });
    } catch {
      throw new InvalidTokenError('the token is malformed, expired or not signed by carebridge');
    }
    const { jti, tenant, scope, sub } = claims;
    if (typeof jti !== 'string' || typeof tenant !== 'string' || typeof scope !== 'string') {
      throw new InvalidTokenError('the token lacks its id, tenant or scope');
    }
    const principal: TokenPrincipal = {
      tokenId: jti,
      tenantId: tenant,
      scopes: scope.split(' ').filter(isScope),
      userId: typeof sub === 'string' && !sub.startsWith('token:') ? sub : null,
    };
    if (this.verified.size >= MAX_CACHED) this.verified.clear();
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.POSITIVE_INFINITY;
    this.verified.set(token, { principal, expiresAt });
    return principal;
  }

  private async isUsable(id: string): Promise<boolean> {
    const now = Date.now();
    const cached = this.status.get(id);
    if (cached && now - cached.checkedAt < this.cacheMillis) return cached.usable;
    const { rows } = await this.pool.query<{ usable: boolean }>({
      name: 'token_status',
      text: `select t.revoked_at is null and t.suspended_at is null
                    and (t.expires_at is null or t.expires_at > now())
                    and (c.client_id is null or c.revoked_at is null) as usable
             from api_tokens t left join oauth_clients c on c.client_id = t.client_id
             where t.id = $1`,
      values: [id],
    });
    const usable = rows[0]?.usable === true;
    if (this.status.size >= MAX_CACHED) this.status.clear();
    this.status.set(id, { usable, checkedAt: now });
    return usable;
  }
}
