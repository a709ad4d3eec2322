import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('discovery endpoints', () => {
  it('Should tell the truth in /ServiceProviderConfig', async () => {
    const res = await t.request('GET', '/scim/v2/ServiceProviderConfig');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: t.services.config.bulkMaxOperations },
      filter: { supported: true, maxResults: t.services.config.maxPageSize },
      sort: { supported: true },
      etag: { supported: true },
      pagination: { cursor: true, index: true },
    });
    expect(body.authenticationSchemes[0].type).toBe('oauthbearertoken');
  });

  it('Should list User with the enterprise extension and Group in /ResourceTypes', async () => {
    const body = await (await t.request('GET', '/scim/v2/ResourceTypes')).json();
    expect(body.totalResults).toBe(body.Resources.length);
    const user = body.Resources.find((r: { id: string }) => r.id === 'User');
    expect(user).toMatchObject({
      endpoint: '/Users',
      schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
      schemaExtensions: [
        { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false },
        { schema: 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User', required: false },
      ],
    });
    expect((await t.request('GET', '/scim/v2/ResourceTypes/Group')).status).toBe(200);
  });

  it('Should serve each schema with its attributes', async () => {
    const body = await (await t.request('GET', '/scim/v2/Schemas')).json();
    const ids = body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toContain('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User');
    const user = await (
      await t.request('GET', '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')
    ).json();
    const userName = user.attributes.find((a: { name: string }) => a.name === 'userName');
    expect(userName).toMatchObject({ caseExact: false, uniqueness: 'server', required: true });
  });

  it('Should answer writes to the discovery endpoints with 405', async () => {
    for (const path of [
      '/scim/v2/ServiceProviderConfig',
      '/scim/v2/Schemas',
      '/scim/v2/ResourceTypes',
    ]) {
      const res = await t.request('POST', path, { body: {} });
      expect(res.status).toBe(405);
      expect((await res.json()).status).toBe('405');
    }
  });
});
