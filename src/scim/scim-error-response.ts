import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { DirectoryError, type DirectoryErrorCode } from '../directory/directory-error.ts';
import { AuthError, bearerChallenge } from '../http/bearer-auth.ts';
import { SCIMError, type SCIMType, scimErrorBody } from './scim-error.ts';

const DIRECTORY_STATUS: Record<DirectoryErrorCode, [number, SCIMType | undefined]> = {
  notFound: [404, undefined],
  uniqueness: [409, 'uniqueness'],
  invalidValue: [400, 'invalidValue'],
  invalidFilter: [400, 'invalidFilter'],
  mutability: [400, 'mutability'],
  preconditionFailed: [412, undefined],
  forbidden: [403, undefined],
  conflict: [409, undefined],
};

/** The HTTP status an error stands for; anything unknown is a fault of ours (500). */
export function errorStatus(err: unknown): number {
  if (err instanceof SCIMError || err instanceof AuthError) return err.status;
  if (err instanceof DirectoryError) return DIRECTORY_STATUS[err.code][0];
  if (err instanceof HTTPException) return err.status;
  return 500;
}

/**
 * Renders any error raised under `/scim/v2` in the SCIM error schema (RFC 7644 §3.12).
 * Unknown errors are a 500 with the request id; their cause goes to the log only.
 */
export function scimErrorResponse(c: Context, err: unknown, requestId: string): Response {
  let status: number;
  let scimType: SCIMType | undefined;
  let detail: string;
  if (err instanceof SCIMError) {
    ({ status, scimType, detail } = err);
  } else if (err instanceof DirectoryError) {
    [status, scimType] = DIRECTORY_STATUS[err.code];
    detail = err.message;
  } else if (err instanceof AuthError) {
    status = err.status;
    detail = err.message;
    c.header('WWW-Authenticate', bearerChallenge(err));
  } else {
    status = 500;
    detail = `internal error; quote request id ${requestId}`;
  }
  return c.body(JSON.stringify(scimErrorBody(status, detail, scimType)), status as 400, {
    'Content-Type': 'application/scim+json; charset=utf-8',
  });
}
