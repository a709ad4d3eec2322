import { Hono } from 'hono';
import type { GroupRecord } from '../directory/group-record.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { groupInputFromSCIM, memberIds } from './group-input.ts';
import { groupBodyWithMembers, MEMBERS_PER_CHUNK } from './group-members-json.ts';
import { listRoute, projectionFrom, searchRoute } from './list-resources.ts';
import { applyPatch } from './patch/apply-patch.ts';
import { onlyAddsMembersRequest } from './patch/member-changes.ts';
import { readJSONBody } from './read-body.ts';
import { etag, groupToSCIM } from './representation.ts';
import { normaliseResource } from './resource-input.ts';
import { directoryContext, ifMatchVersion, notModified } from './scim-context.ts';
import { SCIMError } from './scim-error.ts';
import { scimJSONText } from './scim-json.ts';

/**
 * `/Groups` (RFC 7644 §3). Members are changed set-based by the directory; a group's
 * members are loaded only when the response shows them, so `excludedAttributes=members`
 * reads a group of any size in constant time.
 */
export function groupsRoutes(services: Services) {
  const { directory, registry, config } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const app = new Hono<AppEnv>();

  // The embedded database serves one transaction at a time: a streamed group, which reads
  // from one snapshot, would hold it for as long as its reader takes. There it goes whole.
  const perChunk = services.db.embedded ? Number.POSITIVE_INFINITY : MEMBERS_PER_CHUNK;

  /** The group as its response's JSON, with its members when the projection shows them. */
  const present = async (
    c: Parameters<typeof directoryContext>[0],
    group: GroupRecord,
  ): Promise<string | ReadableStream<Uint8Array>> => {
    const projection = projectionFrom(c, registry, 'Group');
    c.header('ETag', etag(group.version));
    if (!projection.needsMembers) return JSON.stringify(projection.apply(groupToSCIM(group, base)));
    const body = await groupBodyWithMembers(services.db.pool, group, base, projection, perChunk);
    if (body !== undefined) return body;
    const members = (await directory.groups.membersOf(group.tenantId, [group.id])).get(group.id);
    return JSON.stringify(projection.apply(groupToSCIM(group, base, members)));
  };

  app.get('/', listRoute(services, 'Group'));
  app.post('/.search', searchRoute(services, 'Group'));

  app.post('/', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const resource = normaliseResource(registry, 'Group', body, { mode: 'create' });
    const group = await directory.groups.create(
      directoryContext(c),
      groupInputFromSCIM(resource),
      memberIds(resource),
    );
    c.header('Location', `${base}/Groups/${group.id}`);
    return scimJSONText(c, await present(c, group), 201);
  });

  app.get('/:id', async (c) => {
    const group = await directory.groups.get(c.get('principal').tenantId, c.req.param('id'));
    if (notModified(c, group.version)) {
      c.header('ETag', etag(group.version));
      return c.body(null, 304);
    }
    return scimJSONText(c, await present(c, group));
  });

  app.put('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const resource = normaliseResource(registry, 'Group', body, { mode: 'replace' });
    const { group } = await directory.groups.update(
      directoryContext(c),
      c.req.param('id'),
      () => ({
        input: groupInputFromSCIM(resource),
        members: { add: memberIds(resource), remove: 'all' },
      }),
      { ifMatch: ifMatchVersion(c) },
    );
    return scimJSONText(c, await present(c, group));
  });

  app.patch('/:id', async (c) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const { group } = await directory.groups.update(
      directoryContext(c),
      c.req.param('id'),
      (current) => {
        const patched = applyPatch(registry, 'Group', groupToSCIM(current, base), body);
        return {
          input: groupInputFromSCIM(patched.resource, 'clear'),
          members: patched.memberChanges,
        };
      },
      { ifMatch: ifMatchVersion(c), onlyAddsMembers: onlyAddsMembersRequest(body) },
    );
    // RFC 7644 §3.5.2 lets a PATCH answer 204; Okta and Entra expect it for groups, and a
    // group of 50,000 members must not be rendered back for every batch of 100 added.
    // A client that wants the group asks with ?attributes= or ?excludedAttributes=.
    if (
      c.req.query('attributes') === undefined &&
      c.req.query('excludedAttributes') === undefined
    ) {
      c.header('ETag', etag(group.version));
      return c.body(null, 204);
    }
    return scimJSONText(c, await present(c, group));
  });

  app.delete('/:id', async (c) => {
    const ctx = directoryContext(c);
    const expected = ifMatchVersion(c);
    if (expected !== undefined) {
      const current = await directory.groups.get(ctx.tenantId, c.req.param('id'));
      if (current.version !== expected) {
        throw new SCIMError(
          412,
          undefined,
          `group ${current.id} has changed (version ${current.version})`,
        );
      }
    }
    await directory.groups.delete(ctx, c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
