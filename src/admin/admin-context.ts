import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { DirectoryContext } from '../directory/actor.ts';
import { DirectoryError, type DirectoryErrorCode } from '../directory/directory-error.ts';
import { UUID } from '../directory/uuid.ts';
import type { AppEnv } from '../http/app-env.ts';
import { AuthError, bearerChallenge } from '../http/bearer-auth.ts';

/**
 * The directory context of an admin request: the user behind the token when it has one
 * (so the who-may-manage-whom rules apply to that user), else the token itself.
 */
export function adminContext(c: Context<AppEnv>): DirectoryContext {
  const principal = c.get('principal');
  return {
    tenantId: principal.tenantId,
    actor: principal.userId
      ? { type: 'user', id: principal.userId }
      : { type: 'token', id: principal.tokenId },
    requestId: c.get('requestId'),
  };
}

/** A path id that is a uuid; anything else cannot exist (404, never a database error). */
export function idParam(c: Context<AppEnv>, name: string): string {
  const id = c.req.param(name) ?? '';
  if (!UUID.test(id)) throw new DirectoryError('notFound', `${id} not found`);
  return id;
}

const STATUS: Record<DirectoryErrorCode, 400 | 403 | 404 | 409 | 412> = {
  notFound: 404,
  uniqueness: 409,
  invalidValue: 400,
  invalidFilter: 400,
  mutability: 400,
  preconditionFailed: 412,
  forbidden: 403,
  conflict: 409,
};

/** The admin API's one error mapping: `{ error, message }`, never a stack trace. */
export function adminErrorResponse(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof DirectoryError) {
    return c.json({ error: err.code, message: err.message }, STATUS[err.code]);
  }
  if (err instanceof AuthError) {
    if (err.status === 401) c.header('WWW-Authenticate', bearerChallenge(err));
    return c.json({ error: err.code, message: err.message }, err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json({ error: 'bad_request', message: err.message }, err.status);
  }
  c.get('log')?.error({ err }, 'admin request failed');
  const id = c.get('requestId') ?? 'unknown';
  return c.json({ error: 'server_error', message: `internal error; quote request id ${id}` }, 500);
}
