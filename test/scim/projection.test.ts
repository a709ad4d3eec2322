import { describe, expect, it } from 'vitest';
import { cachedProjection, compileProjection } from '../../src/scim/projection.ts';
import type { SCIMResource } from '../../src/scim/representation.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CARE = 'urn:carebridge:test:1.0:User';

const registry = createSchemaRegistry([
  {
    id: CARE,
    name: 'Care',
    description: 'An extension with a returned: request attribute',
    attributes: [
      { name: 'site', type: 'string' } as never,
      { name: 'auditNote', type: 'string', returned: 'request' } as never,
    ],
  },
]);
registry.resourceType('User').schemaExtensions.push({ schema: CARE, required: false });

const meta = {
  resourceType: 'User',
  created: '2024-01-01T00:00:00.000Z',
  lastModified: '2024-01-02T00:00:00.000Z',
};

function user(): SCIMResource {
  return {
    schemas: [USER, ENTERPRISE, CARE],
    id: 'u-1',
    externalId: 'ext-1',
    userName: 'alice',
    name: { givenName: 'Alice', familyName: 'Archer' },
    emails: [
      { value: 'alice@x.org', type: 'work', primary: true },
      { value: 'alice@y.org', type: 'home' },
    ],
    [ENTERPRISE]: { employeeNumber: '7', manager: { value: 'boss', displayName: 'Boss' } },
    [CARE]: { site: 'North', auditNote: 'checked' },
    active: true,
    groups: [{ value: 'g-1', display: 'Nurses', type: 'direct' }],
    meta,
  };
}

const group: SCIMResource = {
  schemas: [GROUP],
  id: 'g-1',
  displayName: 'Nurses',
  members: [{ value: 'u-1', display: 'alice', type: 'User' }],
  meta: { ...meta, resourceType: 'Group' },
};

const project = (attributes?: string | string[], excluded?: string | string[], resource = user()) =>
  compileProjection(registry, 'User', attributes, excluded).apply(resource);

describe('compileProjection: attributes', () => {
  it('Should return id and schemas with the attributes asked for, and drop meta', () => {
    expect(project('userName')).toEqual({ schemas: [USER], id: 'u-1', userName: 'alice' });
  });

  it('Should pick sub-attributes, also inside every element of a multi-valued attribute', () => {
    expect(project('name.givenName,EMAILS.value')).toEqual({
      schemas: [USER],
      id: 'u-1',
      name: { givenName: 'Alice' },
      emails: [{ value: 'alice@x.org' }, { value: 'alice@y.org' }],
    });
  });

  it('Should read names case-insensitively, and accept an array as a .search body gives it', () => {
    expect(project(['USERNAME', 'Name.FamilyName'])).toEqual({
      schemas: [USER],
      id: 'u-1',
      userName: 'alice',
      name: { familyName: 'Archer' },
    });
  });

  it('Should pick extension attributes by URN, and keep the URN in schemas', () => {
    expect(project(`${ENTERPRISE}:manager.value`)).toEqual({
      schemas: [USER, ENTERPRISE],
      id: 'u-1',
      [ENTERPRISE]: { manager: { value: 'boss' } },
    });
    expect(project(ENTERPRISE.toLowerCase())).toEqual({
      schemas: [USER, ENTERPRISE],
      id: 'u-1',
      [ENTERPRISE]: user()[ENTERPRISE],
    });
  });

  it('Should show a returned: request attribute only when asked for by name', () => {
    expect(project()[CARE]).toEqual({ site: 'North' });
    expect(project(CARE)).toMatchObject({ [CARE]: { site: 'North' } });
    expect(project(`${CARE}:auditNote`)).toMatchObject({ [CARE]: { auditNote: 'checked' } });
  });

  it('Should never show a returned: never attribute, even when asked for', () => {
    const withPassword = { ...user(), password: 'secret' };
    expect(project('password,userName', undefined, withPassword)).not.toHaveProperty('password');
    expect(project(undefined, undefined, withPassword)).not.toHaveProperty('password');
  });

  it('Should leave out an attribute with nothing left in it', () => {
    expect(project('name.middleName,userName')).toEqual({
      schemas: [USER],
      id: 'u-1',
      userName: 'alice',
    });
  });

  it('Should ignore names no schema defines', () => {
    expect(project('userName,shoeSize,urn:example:nope')).toEqual({
      schemas: [USER],
      id: 'u-1',
      userName: 'alice',
    });
  });

  it('Should let attributes win over excludedAttributes', () => {
    expect(project('userName', 'userName')).toEqual({
      schemas: [USER],
      id: 'u-1',
      userName: 'alice',
    });
  });
});

describe('compileProjection: excludedAttributes', () => {
  it('Should drop whole attributes and single sub-attributes', () => {
    const out = project(undefined, 'emails,name.familyName,meta');
    expect(out).not.toHaveProperty('emails');
    expect(out).not.toHaveProperty('meta');
    expect(out['name']).toEqual({ givenName: 'Alice' });
    expect(out['userName']).toBe('alice');
  });

  it('Should drop a sub-attribute from every element', () => {
    expect(project(undefined, 'emails.type')['emails']).toEqual([
      { value: 'alice@x.org', primary: true },
      { value: 'alice@y.org' },
    ]);
  });

  it('Should never drop id or schemas', () => {
    expect(project(undefined, 'id,schemas')).toMatchObject({
      id: 'u-1',
      schemas: [USER, ENTERPRISE, CARE],
    });
  });

  it('Should drop an extension, whole or in part, and its URN from schemas once it is gone', () => {
    const whole = project(undefined, ENTERPRISE);
    expect(whole).not.toHaveProperty(ENTERPRISE);
    expect(whole['schemas']).toEqual([USER, CARE]);
    const part = project(undefined, `${ENTERPRISE}:employeeNumber`);
    expect(part[ENTERPRISE]).toEqual({ manager: { value: 'boss', displayName: 'Boss' } });
    expect(part['schemas']).toEqual([USER, ENTERPRISE, CARE]);
  });

  it('Should return the very same object when there is nothing to drop, and never change its input', () => {
    const resource = user();
    delete resource[CARE];
    resource['schemas'] = [USER, ENTERPRISE];
    const projection = compileProjection(registry, 'User');
    expect(projection.apply(resource)).toBe(resource);
    const before = JSON.stringify(user());
    const input = user();
    project(undefined, 'emails.type,name', input);
    project('emails.value', undefined, input);
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('compileProjection: what the caller must load', () => {
  it('Should say when a Group list can skip its members', () => {
    const p = (a?: string, x?: string) => compileProjection(registry, 'Group', a, x);
    expect(p().needsMembers).toBe(true);
    expect(p(undefined, 'members').needsMembers).toBe(false);
    expect(p(undefined, 'MEMBERS').needsMembers).toBe(false);
    expect(p('displayName').needsMembers).toBe(false);
    expect(p(undefined, 'members.display').needsMembers).toBe(true);
    expect(p('members.value').needsMembers).toBe(true);
    expect(p('members.value').apply(group)).toEqual({
      schemas: [GROUP],
      id: 'g-1',
      members: [{ value: 'u-1' }],
    });
    expect(p(undefined, 'members').apply(group)).not.toHaveProperty('members');
  });

  it('Should say when a User list can skip its groups', () => {
    const p = (a?: string, x?: string) => compileProjection(registry, 'User', a, x);
    expect(p().needsGroups).toBe(true);
    expect(p(undefined, 'groups').needsGroups).toBe(false);
    expect(p('userName').needsGroups).toBe(false);
    expect(p('groups.display').needsGroups).toBe(true);
    expect(p().needsMembers).toBe(false);
  });
});

describe('cachedProjection', () => {
  it('Should compile a projection once and project as compileProjection does', () => {
    const first = cachedProjection(registry, 'User', 'userName,emails.value');
    expect(cachedProjection(registry, 'User', 'userName,emails.value')).toBe(first);
    expect(first.apply(user())).toEqual(project('userName,emails.value'));
    // The same text as attributes or as excludedAttributes is another projection.
    const dropped = cachedProjection(registry, 'User', undefined, 'userName,emails.value');
    expect(dropped).not.toBe(first);
    expect(dropped.apply(user())['userName']).toBeUndefined();
    expect(cachedProjection(registry, 'Group', 'displayName')).not.toBe(
      cachedProjection(registry, 'User', 'displayName'),
    );
  });

  it("Should keep each registry's projections apart", () => {
    // Without the care extension, its URN names nothing: asking for it keeps only id.
    const plain = createSchemaRegistry();
    const withCare = cachedProjection(registry, 'User', CARE).apply(user());
    const without = cachedProjection(plain, 'User', CARE).apply(user());
    expect(withCare[CARE]).toEqual({ site: 'North' });
    expect(without[CARE]).toBeUndefined();
  });
});
