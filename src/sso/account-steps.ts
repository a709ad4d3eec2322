import type pg from 'pg';
import type { DirectoryContext } from '../directory/actor.ts';
import type { Directory } from '../directory/directory.ts';
import { DirectoryError } from '../directory/directory-error.ts';
import { type UserRecord, type UserRow, userFromRow } from '../directory/user-record.ts';
import { type LinkedIdentity, linkIdentity as linkIdentityRow } from '../directory/users.ts';
import { effectiveMapping, type IdpIdentity, mapClaims, mergeAttrs } from './attribute-mapping.ts';
import type { SsoConnection } from './connections.ts';
import { CAREBRIDGE_USER_URN } from './session-token.ts';
import { SsoError } from './sso-error.ts';

/** The account an identity signs in to, and how it was found. */
export interface ResolvedAccount {
  user: UserRecord;
  via: 'identity' | 'verified_email';
}

/** Step: the account linked to this IdP identity on this connection (never another tenant's). */
export async function findLinkedAccount(
  pool: pg.Pool,
  connection: SsoConnection,
  identity: IdpIdentity,
): Promise<UserRecord | undefined> {
  const { rows } = await pool.query<UserRow>(
    `select u.* from sso_identities i join users u on u.id = i.user_id and u.tenant_id = i.tenant_id
     where i.tenant_id = $1 and i.connection_id = $2 and i.issuer = $3 and i.subject = $4`,
    [connection.tenantId, connection.id, identity.issuer, identity.subject],
  );
  return rows[0] && userFromRow(rows[0]);
}

/**
 * Step: the tenant's account with this email, only when the connection links by email and
 * the IdP asserts the email verified.
 */
export async function findByVerifiedEmail(
  pool: pg.Pool,
  connection: SsoConnection,
  identity: IdpIdentity,
): Promise<UserRecord | undefined> {
  if (connection.linking !== 'verified_email' || !identity.emailVerified || !identity.email) {
    return undefined;
  }
  const { rows } = await pool.query<UserRow>(
    `select * from users
     where tenant_id = $1 and lower(primary_email) = lower($2) and status <> 'deleted'`,
    [connection.tenantId, identity.email],
  );
  return rows[0] && userFromRow(rows[0]);
}

/** Step: only an active account signs in; the refusal says which state refused. */
export function checkAccountStatus(user: UserRecord): void {
  if (user.status === 'active') return;
  const code = (
    {
      pending: 'account_pending',
      inactive: 'account_inactive',
      locked: 'account_locked',
      deleted: 'account_deleted',
    } as const
  )[user.status];
  const err = new SsoError(code, `account ${user.id} is ${user.status}`);
  err.userId = user.id;
  throw err;
}

/** Step: remembers that this IdP identity is this account (idempotent). */
export async function linkIdentity(
  pool: pg.Pool,
  connection: SsoConnection,
  identity: IdpIdentity,
  userId: string,
): Promise<void> {
  await linkIdentityRow(pool, connection.tenantId, userId, identityOf(connection, identity));
}

const identityOf = (connection: SsoConnection, identity: IdpIdentity): LinkedIdentity => ({
  connectionId: connection.id,
  issuer: identity.issuer,
  subject: identity.subject,
});

/** `attrs` with `lastAuthenticated` (carebridge extension) set to `at`. */
export function withLastAuthenticated(
  attrs: Record<string, unknown>,
  at: Date,
): Record<string, unknown> {
  const ext = attrs[CAREBRIDGE_USER_URN];
  return {
    ...attrs,
    [CAREBRIDGE_USER_URN]: {
      ...(ext && typeof ext === 'object' ? ext : {}),
      lastAuthenticated: at.toISOString(),
    },
  };
}

/**
 * Step, for a later sign-in: copies the mapped attributes when the connection's policy
 * says so and records `lastAuthenticated`, through the directory's one write path.
 */
export async function refreshAccount(
  directory: Directory,
  ctx: DirectoryContext,
  connection: SsoConnection,
  identity: IdpIdentity,
  user: UserRecord,
): Promise<UserRecord> {
  const mapped = mapClaims(
    effectiveMapping(connection.protocol, connection.attributeMapping),
    identity.claims,
  );
  const { user: updated } = await directory.users.update(
    ctx,
    user.id,
    (current) => ({
      userName: current.userName,
      externalId: current.externalId,
      status: current.status,
      attrs: withLastAuthenticated(
        connection.updateAttributes === 'always'
          ? mergeAttrs(current.attrs, mapped.attrs)
          : current.attrs,
        new Date(),
      ),
    }),
    { auditType: 'user.signed_in' },
  );
  return updated;
}

/**
 * Step, first login: creates the account (JIT) with its locale and zone, linked to the
 * identity in the same transaction, then puts it in the connection's default groups.
 */
export async function createAccount(
  directory: Directory,
  ctx: DirectoryContext,
  connection: SsoConnection,
  identity: IdpIdentity,
  choice: { locale: string; timezone: string },
): Promise<UserRecord> {
  const mapped = mapClaims(
    effectiveMapping(connection.protocol, connection.attributeMapping),
    identity.claims,
  );
  const userName = mapped.userName ?? identity.email ?? identity.subject;
  let user: UserRecord;
  try {
    user = await directory.users.create(
      ctx,
      {
        userName,
        externalId: null,
        status: 'active',
        attrs: withLastAuthenticated(
          { ...mapped.attrs, locale: choice.locale, timezone: choice.timezone },
          new Date(),
        ),
      },
      { identity: identityOf(connection, identity) },
    );
  } catch (err) {
    if (err instanceof DirectoryError && err.code === 'uniqueness') {
      throw new SsoError('account_conflict', err.message);
    }
    throw err;
  }
  for (const groupId of connection.defaultGroups) {
    try {
      await directory.groups.update(ctx, groupId, (g) => ({
        input: { displayName: g.displayName, externalId: g.externalId, attrs: g.attrs },
        members: { add: [user.id], remove: [] },
      }));
    } catch (err) {
      // A default group removed since the connection was set up must not block sign-in.
      if (!(err instanceof DirectoryError && err.code === 'notFound')) throw err;
    }
  }
  return user;
}
