import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { CARE, SITE, STAFF } from './data/care-fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('The care schemas over /Schemas and /ResourceTypes', () => {
  it('Should serve the care extension of User with simple attributes an IdP can map', async () => {
    const res = await t.request('GET', `/scim/v2/Schemas/${CARE}`);
    expect(res.status).toBe(200);
    const schema = await res.json();
    const byName = new Map(schema.attributes.map((a: { name: string }) => [a.name, a]));
    expect(byName.get('primarySite')).toMatchObject({ type: 'string', multiValued: false });
    expect(byName.get('primaryCareRole')).toMatchObject({ type: 'string', multiValued: false });
    expect(byName.get('adminAccess')).toMatchObject({ type: 'boolean' });
    expect(byName.get('lastAuthenticated')).toMatchObject({
      type: 'dateTime',
      mutability: 'readOnly',
    });
    expect(byName.get('passwordLastChanged')).toMatchObject({ mutability: 'readOnly' });
    expect(byName.get('status')).toMatchObject({ mutability: 'readOnly' });
    for (const name of [
      'staffMembers',
      'roles',
      'assistantLinks',
      'elevatedAccess',
      'supervisor',
      'caseManager',
      'workgroup',
      'owningOrganisation',
      'defaultLocation',
      'jobTitle',
      'supportIssueCapability',
    ]) {
      expect(byName.has(name), name).toBe(true);
    }
  });

  it('Should attach the care extension to User and serve StaffMember and Site types', async () => {
    const user = await (await t.request('GET', '/scim/v2/ResourceTypes/User')).json();
    expect(user.schemaExtensions).toContainEqual({ schema: CARE, required: false });
    const staff = await (await t.request('GET', '/scim/v2/ResourceTypes/StaffMember')).json();
    expect(staff).toMatchObject({ endpoint: '/StaffMembers', schema: STAFF });
    const site = await (await t.request('GET', '/scim/v2/ResourceTypes/Site')).json();
    expect(site).toMatchObject({ endpoint: '/Sites', schema: SITE });
    expect((await t.request('GET', `/scim/v2/Schemas/${STAFF}`)).status).toBe(200);
    expect((await t.request('GET', `/scim/v2/Schemas/${SITE}`)).status).toBe(200);
  });
});
