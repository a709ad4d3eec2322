import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

/** How long a sign-in may take from start to finish. */
export const SIGNIN_TTL_SECONDS = 600;

export interface SigninState {
  tenantId: string;
  /** Null only for a local sign-in's password change. */
  connectionId: string | null;
  kind: 'oidc' | 'saml' | 'first_login' | 'password_change';
  /** SHA-256 of the browser-binding cookie; empty where no cookie can be bound (SAML POST). */
  browserHash: string;
  nonce: string | null;
  codeVerifier: string | null;
  samlRequestId: string | null;
  returnUrl: string;
  payload: unknown;
}

interface StateRow {
  tenant_id: string;
  connection_id: string | null;
  kind: SigninState['kind'];
  browser_hash: string;
  nonce: string | null;
  code_verifier: string | null;
  saml_request_id: string | null;
  return_url: string;
  payload: unknown;
}

/** A fresh random value for a state, a nonce or a browser binding (256 bits). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** True when the browser's cookie is the one the flow was started with (constant time). */
export function browserMatches(expectedHash: string, cookie: string | undefined): boolean {
  if (expectedHash === '') return true;
  if (!cookie) return false;
  const a = Buffer.from(sha256(cookie));
  const b = Buffer.from(expectedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Sign-in state lives in the database, keyed by the hash of the state the browser carries:
 * any instance behind a load balancer finishes a flow another started, and a database
 * read never yields a usable state.
 */
export class SigninStates {
  constructor(private readonly pool: pg.Pool) {}

  /** Stores a new state and returns the value the browser carries. */
  async save(state: SigninState): Promise<string> {
    const value = randomToken();
    await this.pool.query(
      `insert into sso_signin_states
         (id, tenant_id, connection_id, kind, browser_hash, nonce, code_verifier, saml_request_id,
          return_url, payload, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11))`,
      [
        sha256(value),
        state.tenantId,
        state.connectionId,
        state.kind,
        state.browserHash,
        state.nonce,
        state.codeVerifier,
        state.samlRequestId,
        state.returnUrl,
        state.payload === undefined ? null : JSON.stringify(state.payload),
        SIGNIN_TTL_SECONDS,
      ],
    );
    // Expired states of abandoned sign-ins go as new ones come (indexed on expires_at).
    await this.pool.query(
      `delete from sso_signin_states where id in (
         select id from sso_signin_states where expires_at < now() limit 100)`,
    );
    return value;
  }

  /** Takes a state once: a second use, an expired state or another kind finds nothing. */
  async consume(
    value: string,
    kind: SigninState['kind'],
    connectionId: string,
  ): Promise<SigninState | undefined> {
    const { rows } = await this.pool.query<StateRow>(
      `delete from sso_signin_states
       where id = $1 and kind = $2 and connection_id = $3 and expires_at > now()
       returning *`,
      [sha256(value), kind, connectionId],
    );
    return rows[0] && fromRow(rows[0]);
  }

  /** Records the id of the AuthnRequest a SAML state waits an answer for. */
  async attachSamlRequest(value: string, requestId: string): Promise<void> {
    await this.pool.query('update sso_signin_states set saml_request_id = $2 where id = $1', [
      sha256(value),
      requestId,
    ]);
  }

  /** Takes a state of `kind` once, whatever its connection (the first-login page). */
  async consumeKind(value: string, kind: SigninState['kind']): Promise<SigninState | undefined> {
    const { rows } = await this.pool.query<StateRow>(
      `delete from sso_signin_states where id = $1 and kind = $2 and expires_at > now() returning *`,
      [sha256(value), kind],
    );
    return rows[0] && fromRow(rows[0]);
  }

  /** Takes the SAML state of the AuthnRequest a response answers (InResponseTo). */
  async consumeSamlRequest(
    connectionId: string,
    requestId: string,
  ): Promise<SigninState | undefined> {
    const { rows } = await this.pool.query<StateRow>(
      `delete from sso_signin_states
       where connection_id = $1 and saml_request_id = $2 and kind = 'saml' and expires_at > now()
       returning *`,
      [connectionId, requestId],
    );
    return rows[0] && fromRow(rows[0]);
  }
}

function fromRow(row: StateRow): SigninState {
  return {
    tenantId: row.tenant_id,
    connectionId: row.connection_id,
    kind: row.kind,
    browserHash: row.browser_hash,
    nonce: row.nonce,
    codeVerifier: row.code_verifier,
    samlRequestId: row.saml_request_id,
    returnUrl: row.return_url,
    payload: row.payload,
  };
}
