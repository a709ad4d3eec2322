import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createMiddleware } from 'hono/factory';
import type { Logger } from 'pino';
import type { AppEnv } from './app-env.ts';

const SAFE_ID = /^[\w.:-]{1,128}$/;

/**
 * Gives each request an id (a caller's `X-Request-Id` if sane) and a child logger, and
 * logs one line when it is answered. The line carries the path without its query string:
 * SCIM filters name people.
 */
export function requestContext(log: Logger) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', id);
    c.set('log', log.child({ requestId: id }));
    c.header('X-Request-Id', id);
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    c.get('log').info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms },
      'answered',
    );
  });
}
