import { isDeepStrictEqual } from 'node:util';
import type { GroupGrant } from './group-record.ts';

/** The lifecycle of an account; only `active` signs in. */
export type UserStatus = 'pending' | 'active' | 'inactive' | 'locked' | 'deleted';

/** An account as the directory stores it. `attrs` holds every schema attribute not in a column. */
export interface UserRecord {
  id: string;
  tenantId: string;
  userName: string;
  externalId: string | null;
  status: UserStatus;
  /** Canonically named attributes; extension attributes nested under their schema URN. */
  attrs: Record<string, unknown>;
  passwordHash: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** The account's groups, when the read or write that produced the record had them anyway. */
  groups?: { value: string; display: string; type: 'direct'; grants?: GroupGrant[] }[];
}

/** What a door asks the directory to store; the password arrives in clear and is hashed. */
export interface UserInput {
  userName: string;
  externalId: string | null;
  status: UserStatus;
  attrs: Record<string, unknown>;
  /** A new password; undefined keeps the current one. */
  password?: string | undefined;
}

/** A database row of `users`. */
export interface UserRow {
  id: string;
  tenant_id: string;
  user_name: string;
  external_id: string | null;
  status: UserStatus;
  primary_email: string | null;
  attrs: Record<string, unknown>;
  password_hash: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export function userFromRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userName: row.user_name,
    externalId: row.external_id,
    status: row.status,
    attrs: row.attrs,
    passwordHash: row.password_hash,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The value of the primary email (RFC 7643 §2.4): the one marked primary, else the first. */
export function primaryEmail(attrs: Record<string, unknown>): string | null {
  const emails = attrs['emails'];
  if (!Array.isArray(emails) || emails.length === 0) return null;
  const primary = emails.find((e) => e && typeof e === 'object' && e.primary === true) ?? emails[0];
  const value = primary && typeof primary === 'object' ? primary.value : undefined;
  return typeof value === 'string' && value !== '' ? value : null;
}

/** What audit events record of an account: never the password hash. */
export function auditSnapshot(
  user: Pick<UserRecord, 'userName' | 'externalId' | 'status' | 'attrs'>,
) {
  return {
    userName: user.userName,
    externalId: user.externalId,
    status: user.status,
    attrs: user.attrs,
  };
}

/** Whether storing `next` would change the account (a password is always a change). */
export function hasChanged(current: UserRecord, next: UserInput): boolean {
  return (
    next.password !== undefined ||
    current.userName !== next.userName ||
    current.externalId !== next.externalId ||
    current.status !== next.status ||
    !isDeepStrictEqual(current.attrs, next.attrs)
  );
}
