import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ bulkMaxOperations: 5 });
});
afterAll(async () => {
  await t.close();
});

const bulk = (body: Record<string, unknown>) =>
  t.request('POST', '/scim/v2/Bulk', { body: { schemas: [BULK], ...body } });

describe('/Bulk', () => {
  it('Should resolve bulkId references, even to an operation further down', async () => {
    const res = await bulk({
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: { schemas: [GROUP], displayName: 'Bulk team', members: [{ value: 'bulkId:u1' }] },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'u1',
          data: { schemas: [USER], userName: 'bulk.one' },
        },
      ],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const [group, user] = body.Operations;
    expect(user).toMatchObject({
      method: 'POST',
      bulkId: 'u1',
      status: '201',
      location: expect.stringContaining('/Users/'),
    });
    expect(group).toMatchObject({ bulkId: 'g1', status: '201' });
    const created = await (
      await t.request('GET', group.location.replace('http://carebridge.test', ''))
    ).json();
    expect(created.members[0].value).toBe(user.location.split('/').at(-1));
  });

  it('Should report each failed operation and stop after failOnErrors errors', async () => {
    const res = await bulk({
      failOnErrors: 1,
      Operations: [
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'a',
          data: { schemas: [USER], userName: 'dup.bulk' },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'b',
          data: { schemas: [USER], userName: 'dup.bulk' },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'c',
          data: { schemas: [USER], userName: 'never.created' },
        },
      ],
    });
    const body = await res.json();
    expect(body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '409']);
    expect(body.Operations[1].response.scimType).toBe('uniqueness');
    const list = await (
      await t.request('GET', '/scim/v2/Users?filter=userName eq "never.created"')
    ).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should refuse more operations than maxOperations with 413', async () => {
    const Operations = Array.from({ length: 6 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `x${i}`,
      data: { schemas: [USER], userName: `too.many.${i}` },
    }));
    const res = await bulk({ Operations });
    expect(res.status).toBe(413);
    const list = await (
      await t.request('GET', '/scim/v2/Users?filter=userName sw "too.many"')
    ).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should refuse a request larger than maxPayloadSize with 413, running none of it', async () => {
    const Operations = [
      {
        method: 'POST',
        path: '/Users',
        bulkId: 'big',
        data: { schemas: [USER], userName: 'too.big', nickName: 'x'.repeat(1_100_000) },
      },
    ];
    const res = await bulk({ Operations });
    expect(res.status).toBe(413);
    const config = await (await t.request('GET', '/scim/v2/ServiceProviderConfig')).json();
    expect(config.bulk.maxPayloadSize).toBe(1_048_576);
    const list = await (
      await t.request('GET', '/scim/v2/Users?filter=userName eq "too.big"')
    ).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should report a reference to a failed bulkId and circular references as errors', async () => {
    const res = await bulk({
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'c1',
          data: { schemas: [GROUP], displayName: 'C1', members: [{ value: 'bulkId:c2' }] },
        },
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'c2',
          data: { schemas: [GROUP], displayName: 'C2', members: [{ value: 'bulkId:c1' }] },
        },
        { method: 'PATCH', path: '/Users/bulkId:nowhere', data: {} },
      ],
    });
    const body = await res.json();
    expect(body.Operations.map((o: { status: string }) => o.status)).toEqual(['409', '409', '409']);
  });

  it('Should refuse a request without the BulkRequest schema with invalidSyntax', async () => {
    const res = await t.request('POST', '/scim/v2/Bulk', { body: { Operations: [] } });
    expect(res.status).toBe(400);
    expect((await res.json()).scimType).toBe('invalidSyntax');
  });
});
