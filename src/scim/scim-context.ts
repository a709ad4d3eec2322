import type { Context } from 'hono';
import type { DirectoryContext } from '../directory/actor.ts';
import type { AppEnv } from '../http/app-env.ts';
import { versionFromETag } from './representation.ts';
import { SCIMError } from './scim-error.ts';

/** The directory context of a SCIM request: the token's tenant, the token as actor. */
export function directoryContext(c: Context<AppEnv>): DirectoryContext {
  const principal = c.get('principal');
  return {
    tenantId: principal.tenantId,
    actor: principal.userId
      ? { type: 'user', id: principal.userId }
      : { type: 'token', id: principal.tokenId },
    requestId: c.get('requestId'),
  };
}

/**
 * The version an `If-Match` header demands (RFC 7644 §3.14, RFC 7232 §3.1): undefined
 * for none or `*`; a value that is not one of our ETags can never match (412).
 */
export function ifMatchVersion(c: Context): number | undefined {
  const v = versionFromETag(c.req.header('if-match'));
  if (v === undefined || v === 'any') return undefined;
  if (v === 'unknown')
    throw new SCIMError(412, undefined, 'If-Match does not match the current version');
  return v;
}

/** True when `If-None-Match` names the current version, so a GET can answer 304. */
export function notModified(c: Context, version: number): boolean {
  const header = c.req.header('if-none-match');
  if (!header) return false;
  return header.split(',').some((tag) => {
    const v = versionFromETag(tag);
    return v === 'any' || v === version;
  });
}
