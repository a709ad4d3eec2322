import { createMiddleware } from 'hono/factory';
import { type ApiTokens, InvalidTokenError, type Scope } from '../keys/api-tokens.ts';
import type { AppEnv } from './app-env.ts';

/** Refusal of a request's credentials, rendered by each door in its own format. */
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly code: 'invalid_token' | 'insufficient_scope',
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The `WWW-Authenticate` challenge of RFC 6750 §3. */
export function bearerChallenge(err: AuthError): string {
  const description = err.message.replaceAll('"', "'");
  return `Bearer realm="carebridge", error="${err.code}", error_description="${description}"`;
}

/**
 * Requires a bearer token with one of `anyOf` scopes (RFC 6750). Missing or bad tokens
 * are 401, a valid token without the scope is 403.
 */
export function bearerAuth(
  tokens: ApiTokens,
  anyOf: (req: { method: string; path: string }) => Scope[],
) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+([\w.~+/-]+=*)\s*$/i.exec(header);
    if (!match?.[1]) throw new AuthError(401, 'invalid_token', 'a bearer token is required');
    let principal: Awaited<ReturnType<ApiTokens['authenticate']>>;
    try {
      principal = await tokens.authenticate(match[1]);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new AuthError(401, 'invalid_token', err.message);
      throw err;
    }
    const needed = anyOf({ method: c.req.method, path: c.req.path });
    if (!needed.some((s) => principal.scopes.includes(s))) {
      throw new AuthError(
        403,
        'insufficient_scope',
        `this request needs the scope ${needed.join(' or ')}`,
      );
    }
    c.set('principal', principal);
    await next();
  });
}
