import { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { SCIMError } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/**
 * `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4): what this
 * server really supports, readable without a token, read-only (405 for writes).
 */
export function discoveryRoutes(services: Services) {
  const { registry, config } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const app = new Hono<AppEnv>();

  const serviceProviderConfig = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: `${config.publicUrl}/`,
    patch: { supported: true },
    bulk: {
      supported: true,
      maxOperations: config.bulkMaxOperations,
      maxPayloadSize: config.maxPayloadBytes,
    },
    filter: { supported: true, maxResults: config.maxPageSize },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: config.maxPageSize,
      cursorTimeout: 0,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description:
          'A bearer token from `npm run token` or the client-credentials grant at /oauth/token',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };

  const resourceType = (name: string) => {
    const rt = registry.resourceType(name);
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: rt.name,
      name: rt.name,
      endpoint: rt.endpoint,
      description: rt.description,
      schema: rt.schema,
      schemaExtensions: rt.schemaExtensions,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${rt.name}` },
    };
  };
  const schema = (id: string) => {
    const s = registry.schemas.get(id);
    if (!s) return undefined;
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      ...s,
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
    };
  };
  const list = (resources: unknown[]) => ({
    schemas: [LIST],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  });

  app.get('/ServiceProviderConfig', (c) => scimJSON(c, serviceProviderConfig));
  app.get('/ResourceTypes', (c) =>
    scimJSON(c, list([...registry.resourceTypes.keys()].map(resourceType))),
  );
  app.get('/ResourceTypes/:name', (c) => {
    if (!registry.resourceTypes.has(c.req.param('name'))) {
      throw new SCIMError(404, undefined, `no resource type ${c.req.param('name')}`);
    }
    return scimJSON(c, resourceType(c.req.param('name')));
  });
  app.get('/Schemas', (c) => scimJSON(c, list([...registry.schemas.keys()].map(schema))));
  app.get('/Schemas/:id', (c) => {
    const s = schema(c.req.param('id'));
    if (!s) throw new SCIMError(404, undefined, `no schema ${c.req.param('id')}`);
    return scimJSON(c, s);
  });
  for (const path of [
    '/ServiceProviderConfig',
    '/ResourceTypes',
    '/ResourceTypes/:name',
    '/Schemas',
    '/Schemas/:id',
  ]) {
    app.on(['POST', 'PUT', 'PATCH', 'DELETE'], path, () => {
      throw new SCIMError(405, undefined, 'discovery endpoints are read-only');
    });
  }
  return app;
}
