import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../src/scim/patch/apply-patch.ts';
import { normaliseResource } from '../../src/scim/resource-input.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';
import {
  deepFreeze,
  ENTERPRISE,
  GROUP,
  PATCH_OP,
  patchOp,
  representativeGroup,
  representativeUser,
  USER,
} from './data/patch-fixtures.ts';

/**
 * The request bodies Okta and Microsoft Entra ID document and send, each named after the
 * vendor's own case: Okta's "SCIM 2.0 protocol reference", Entra's "Develop and plan
 * provisioning for a SCIM endpoint" and "Known issues and resolutions with SCIM 2.0
 * protocol compliance".
 */

const registry = createSchemaRegistry();
const patchUser = (body: unknown, user = representativeUser()) =>
  applyPatch(registry, 'User', deepFreeze(user), body);
const patchGroup = (body: unknown) =>
  applyPatch(registry, 'Group', deepFreeze(representativeGroup()), body);

/** The representative user without a work email, phone or address: what Entra then creates. */
function userWithoutWorkContacts() {
  const user = representativeUser();
  user['emails'] = [{ value: 'anna@home.example', type: 'home' }];
  delete user['addresses'];
  return user;
}

describe('Okta', () => {
  it('Okta: create users', () => {
    const body = {
      schemas: [USER],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    };
    const { groups: _groups, ...expected } = body;
    expect(normaliseResource(registry, 'User', body, { mode: 'create' })).toEqual(expected);
  });

  it('Okta: update a specific user (PUT), with id and groups in the body', () => {
    const body = {
      schemas: [USER],
      id: '23a35c27-23d3-4c03-b4c5-6443c09e7173',
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', middleName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Another Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    };
    const { id: _id, groups: _groups, ...expected } = body;
    expect(normaliseResource(registry, 'User', body, { mode: 'replace' })).toEqual(expected);
  });

  it('Okta: update a specific user (PATCH) to deactivate it', () => {
    const result = patchUser(patchOp({ op: 'replace', value: { active: false } }));
    expect(result).toMatchObject({ changed: true, resource: { active: false } });
  });

  it('Okta: update a specific user (PATCH) to reactivate it, changing nothing when already active', () => {
    expect(patchUser(patchOp({ op: 'replace', value: { active: true } })).changed).toBe(false);
  });

  it('Okta: create groups, with an empty members array', () => {
    const body = { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] };
    expect(normaliseResource(registry, 'Group', body, { mode: 'create' })).toEqual({
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
    });
  });

  it('Okta: update a specific group name, with the group id in the value', () => {
    const result = patchGroup(
      patchOp({
        op: 'replace',
        value: { id: representativeGroup()['id'], displayName: 'Test SCIMv2' },
      }),
    );
    expect(result).toEqual({
      resource: { ...representativeGroup(), displayName: 'Test SCIMv2' },
      changed: true,
    });
  });

  it('Okta: update a specific group membership, adding users', () => {
    const body = patchOp({
      op: 'add',
      path: 'members',
      value: [{ value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' }],
    });
    expect(patchGroup(body).memberChanges).toEqual({
      add: ['23a35c27-23d3-4c03-b4c5-6443c09e7173'],
      remove: [],
    });
  });

  it('Okta: update a specific group membership, removing users', () => {
    const body = patchOp({
      op: 'remove',
      path: 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]',
    });
    expect(patchGroup(body).memberChanges).toEqual({
      add: [],
      remove: ['89bb1940-b905-4575-9e7f-6f887cfb368e'],
    });
  });

  it('Okta: push groups (PUT) with members', () => {
    const body = {
      schemas: [GROUP],
      id: 'abf4dd94',
      displayName: 'Test SCIMv2',
      members: [{ value: 'u1', display: 'test.user@okta.local' }],
    };
    expect(normaliseResource(registry, 'Group', body, { mode: 'replace' })).toEqual({
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
      members: [{ value: 'u1', display: 'test.user@okta.local' }],
    });
  });
});

describe('Microsoft Entra ID', () => {
  it('Entra: create user', () => {
    const body = {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      active: true,
      emails: [
        {
          primary: true,
          type: 'work',
          value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com',
        },
      ],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    };
    expect(normaliseResource(registry, 'User', body, { mode: 'create' })).toEqual({
      schemas: [USER],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      active: true,
      emails: [
        {
          primary: true,
          type: 'work',
          value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com',
        },
      ],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    });
  });

  it('Entra: create user with the enterprise manager as a plain id', () => {
    const body = {
      schemas: [USER, ENTERPRISE],
      userName: 'anna',
      [ENTERPRISE]: { manager: 'ada6a8c2', department: 'Night staff' },
    };
    expect(normaliseResource(registry, 'User', body, { mode: 'create' })[ENTERPRISE]).toEqual({
      manager: { value: 'ada6a8c2' },
      department: 'Night staff',
    });
  });

  it('Entra: update user [multi-valued properties]', () => {
    const body = {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'Replace',
          path: 'emails[type eq "work"].value',
          value: 'updatedEmail@microsoft.com',
        },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    };
    expect(patchUser(body).resource).toMatchObject({
      emails: [
        { value: 'updatedEmail@microsoft.com', type: 'work', primary: true },
        { value: 'anna@home.example', type: 'home' },
      ],
      name: { formatted: 'Anna Berg', givenName: 'Anna', familyName: 'updatedFamilyName' },
    });
  });

  it('Entra: update user [single-valued properties]', () => {
    const body = patchOp({
      op: 'Replace',
      path: 'userName',
      value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
    });
    expect(patchUser(body).resource['userName']).toBe(
      '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
    );
  });

  it('Entra: disable user', () => {
    expect(
      patchUser(patchOp({ op: 'Replace', path: 'active', value: false })).resource['active'],
    ).toBe(false);
  });

  it('Entra: disable user with "False" as a string (before aadOptscim062020)', () => {
    expect(
      patchUser(patchOp({ op: 'Replace', path: 'active', value: 'False' })).resource['active'],
    ).toBe(false);
    expect(
      patchUser(patchOp({ op: 'Replace', value: { active: 'False' } })).resource['active'],
    ).toBe(false);
  });

  it('Entra: replace without path with multiple attributes', () => {
    const body = patchOp({
      op: 'replace',
      value: {
        displayName: 'Pvlo',
        'emails[type eq "work"].value': 'TestBcwqnm@test.microsoft.com',
        'name.givenName': 'Gtfd',
        'name.familyName': 'Pkqf',
        externalId: 'Eqpj',
        [`${ENTERPRISE}:employeeNumber`]: 'Eqpj',
      },
    });
    expect(patchUser(body).resource).toMatchObject({
      displayName: 'Pvlo',
      emails: [
        { value: 'TestBcwqnm@test.microsoft.com', type: 'work', primary: true },
        { value: 'anna@home.example', type: 'home' },
      ],
      name: { formatted: 'Anna Berg', givenName: 'Gtfd', familyName: 'Pkqf' },
      externalId: 'Eqpj',
      [ENTERPRISE]: { employeeNumber: 'Eqpj', department: 'Night staff' },
    });
  });

  it('Entra: add a single-valued attribute without a path', () => {
    expect(
      patchUser(patchOp({ op: 'add', value: { nickName: 'Babs' } })).resource['nickName'],
    ).toBe('Babs');
  });

  it('Entra: add emails[type eq "work"].value to a user without a work email', () => {
    const result = patchUser(
      patchOp({
        op: 'Add',
        path: 'emails[type eq "work"].value',
        value: 'anna.berg@north.example',
      }),
      userWithoutWorkContacts(),
    );
    expect(result.resource['emails']).toEqual([
      { value: 'anna@home.example', type: 'home' },
      { type: 'work', value: 'anna.berg@north.example' },
    ]);
  });

  it('Entra: replace emails[type eq "work"].value on a user without a work email', () => {
    const result = patchUser(
      patchOp({
        op: 'Replace',
        path: 'emails[type eq "work"].value',
        value: 'anna.berg@north.example',
      }),
      userWithoutWorkContacts(),
    );
    expect(result.resource['emails']).toContainEqual({
      type: 'work',
      value: 'anna.berg@north.example',
    });
  });

  it('Entra: replace addresses[type eq "work"].streetAddress on a user without a work address', () => {
    const result = patchUser(
      patchOp(
        { op: 'Replace', path: 'addresses[type eq "work"].streetAddress', value: 'Storgatan 1' },
        { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Umeå' },
      ),
      userWithoutWorkContacts(),
    );
    expect(result.resource['addresses']).toEqual([
      { type: 'work', streetAddress: 'Storgatan 1', locality: 'Umeå' },
    ]);
  });

  it('Entra: replace phoneNumbers[type eq "mobile"].value and add a work phone in one request', () => {
    const result = patchUser(
      patchOp(
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+46 70 000 00 00' },
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+46 90 12 34 56' },
      ),
    );
    expect(result.resource['phoneNumbers']).toEqual([
      { value: '+46 70 000 00 00', type: 'mobile' },
      { type: 'work', value: '+46 90 12 34 56' },
    ]);
  });

  it('Entra: add emails[type eq "work"].value equal to the current one changes nothing', () => {
    const body = patchOp({
      op: 'Add',
      path: 'emails[type eq "work"].value',
      value: 'anna.berg@north.example',
    });
    expect(patchUser(body).changed).toBe(false);
  });

  it('Entra: update the enterprise extension attribute employeeNumber and department', () => {
    const result = patchUser(
      patchOp(
        { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '8' },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Day staff' },
      ),
    );
    expect(result.resource[ENTERPRISE]).toEqual({
      employeeNumber: '8',
      department: 'Day staff',
      manager: { value: 'mgr-1' },
    });
  });

  it('Entra: add the manager as a plain id', () => {
    const result = patchUser(
      patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'ada6a8c2' }),
    );
    expect(result.resource[ENTERPRISE]).toMatchObject({ manager: { value: 'ada6a8c2' } });
  });

  it('Entra: replace the manager with an object', () => {
    const result = patchUser(
      patchOp({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: 'ada6a8c2' } }),
    );
    expect(result.resource[ENTERPRISE]).toMatchObject({ manager: { value: 'ada6a8c2' } });
  });

  it('Entra: remove the manager', () => {
    const result = patchUser(patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
    expect(result.resource[ENTERPRISE]).toEqual({ employeeNumber: '7', department: 'Night staff' });
  });

  it('Entra: create group, listing its ADSCIM/Group schema', () => {
    const body = {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    };
    expect(normaliseResource(registry, 'Group', body, { mode: 'create' })).toEqual({
      schemas: [GROUP],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
    });
  });

  it('Entra: update group [non-member attributes]', () => {
    const body = patchOp({
      op: 'Replace',
      path: 'displayName',
      value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
    });
    expect(patchGroup(body)).toMatchObject({
      changed: true,
      resource: { displayName: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' },
    });
  });

  it('Entra: update group [add members], with "$ref": null', () => {
    const body = patchOp({
      op: 'Add',
      path: 'members',
      value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }],
    });
    expect(patchGroup(body)).toEqual({
      resource: representativeGroup(),
      changed: false,
      memberChanges: { add: ['f648f8d5ea4e4cd38e9c'], remove: [] },
    });
  });

  it('Entra: update group [remove members], as a value array with "$ref": null', () => {
    const body = patchOp({
      op: 'Remove',
      path: 'members',
      value: [{ $ref: null, value: 'a0e2f3b1' }],
    });
    expect(patchGroup(body).memberChanges).toEqual({ add: [], remove: ['a0e2f3b1'] });
  });

  it('Entra: update group [remove members] with a filter (aadOptscim062020)', () => {
    const body = patchOp({
      op: 'remove',
      path: 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]',
    });
    expect(patchGroup(body).memberChanges).toEqual({
      add: [],
      remove: ['7f4bc1a3-285e-48ae-8202-5accb43efb0e'],
    });
  });

  it('Entra: update group with several member operations in one request', () => {
    const body = patchOp(
      { op: 'Add', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] },
      { op: 'Remove', path: 'members', value: [{ value: 'u3' }] },
    );
    expect(patchGroup(body).memberChanges).toEqual({ add: ['u1', 'u2'], remove: ['u3'] });
  });
});
