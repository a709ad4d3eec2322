import { type Context, Hono } from 'hono';
import type { UserRecord } from '../directory/user-record.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { listRoute, projectionFrom, searchRoute } from './list-resources.ts';
import { applyPatch } from './patch/apply-patch.ts';
import { readJSONBody } from './read-body.ts';
import { etag, userToSCIM } from './representation.ts';
import { normaliseResource } from './resource-input.ts';
import { directoryContext, ifMatchVersion, notModified } from './scim-context.ts';
import { SCIMError } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';
import { userInputFromSCIM } from './user-input.ts';
import { readUser } from './user-read.ts';

type UserGroups = { value: string; display: string; type: string }[];

/** Renders a user as the request's projection asks, with its ETag header. */
export function userPresenter(services: Services) {
  const { directory, registry, config } = services;
  const base = `${config.publicUrl}/scim/v2`;
  return async (c: Context<AppEnv>, user: UserRecord, loadedGroups?: UserGroups) => {
    const projection = projectionFrom(c, registry, 'User');
    const groups = !projection.needsGroups
      ? undefined
      : (loadedGroups ??
        user.groups ??
        (await directory.groups.groupsOf(user.tenantId, [user.id])).get(user.id));
    c.header('ETag', etag(user.version));
    return projection.apply(userToSCIM(user, base, groups));
  };
}

/** `/Users` (RFC 7644 §3): every door to accounts translates to the directory service. */
export function usersRoutes(services: Services) {
  const { directory, registry, config } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const app = new Hono<AppEnv>();

  const present = userPresenter(services);

  app.get('/', listRoute(services, 'User'));
  app.post('/.search', searchRoute(services, 'User'));

  app.post('/', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const resource = normaliseResource(registry, 'User', body, { mode: 'create' });
    const user = await directory.users.create(directoryContext(c), userInputFromSCIM(resource));
    c.header('Location', `${base}/Users/${user.id}`);
    return scimJSON(c, await present(c, user), 201);
  });

  app.get('/:id', async (c) => {
    const withGroups = projectionFrom(c, registry, 'User').needsGroups;
    const { user, groups } = await readUser(
      services.db.pool,
      c.get('principal').tenantId,
      c.req.param('id'),
      withGroups,
    );
    if (notModified(c, user.version)) {
      c.header('ETag', etag(user.version));
      return c.body(null, 304);
    }
    return scimJSON(c, await present(c, user, groups ?? []));
  });

  app.put('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const resource = normaliseResource(registry, 'User', body, { mode: 'replace' });
    const { user } = await directory.users.update(
      directoryContext(c),
      c.req.param('id'),
      (current) => userInputFromSCIM(resource, current),
      { ifMatch: ifMatchVersion(c) },
    );
    return scimJSON(c, await present(c, user));
  });

  app.patch('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const { user } = await directory.users.update(
      directoryContext(c),
      c.req.param('id'),
      (current) => {
        const patched = applyPatch(registry, 'User', userToSCIM(current, base), body);
        return userInputFromSCIM(patched.resource, current);
      },
      { ifMatch: ifMatchVersion(c) },
    );
    return scimJSON(c, await present(c, user));
  });

  app.delete('/:id', async (c) => {
    const ctx = directoryContext(c);
    const expected = ifMatchVersion(c);
    if (expected !== undefined) {
      const current = await directory.users.get(ctx.tenantId, c.req.param('id'));
      if (current.version !== expected) {
        throw new SCIMError(
          412,
          undefined,
          `user ${current.id} has changed (version ${current.version})`,
        );
      }
    }
    await directory.users.delete(ctx, c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
