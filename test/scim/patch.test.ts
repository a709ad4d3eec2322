import { describe, expect, it } from 'vitest';
import { applyPatch, type PatchResult } from '../../src/scim/patch/apply-patch.ts';
import { MAX_PATCH_OPERATIONS } from '../../src/scim/patch/patch-request.ts';
import type { SCIMResource } from '../../src/scim/representation.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';
import {
  deepFreeze,
  ENTERPRISE,
  PATCH_OP,
  patchOp,
  representativeGroup,
  representativeUser,
  scimError,
  USER,
} from './data/patch-fixtures.ts';
import { BADGE, BADGE_SITE, registryWithBadges } from './data/test-schemas.ts';

const registry = createSchemaRegistry();

/** Patches a frozen representative user: every test also proves the input is not mutated. */
function patchUser(...operations: Record<string, unknown>[]): PatchResult {
  return applyPatch(registry, 'User', deepFreeze(representativeUser()), patchOp(...operations));
}
const patched = (...operations: Record<string, unknown>[]) => patchUser(...operations).resource;
const failure = (...operations: Record<string, unknown>[]) =>
  scimError(() => patchUser(...operations));

describe('the PatchOp envelope (RFC 7644 §3.5.2)', () => {
  const user = representativeUser();

  it('Should refuse a body without the PatchOp schema with invalidSyntax', () => {
    for (const schemas of [
      undefined,
      [],
      [USER],
      'urn:ietf:params:scim:api:messages:2.0:PatchOp',
    ]) {
      const error = scimError(() =>
        applyPatch(registry, 'User', user, {
          schemas,
          Operations: [{ op: 'remove', path: 'title' }],
        }),
      );
      expect(error).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    }
  });

  it('Should refuse missing, empty or non-array Operations with invalidSyntax', () => {
    for (const Operations of [undefined, [], {}, 'remove title']) {
      expect(
        scimError(() => applyPatch(registry, 'User', user, { schemas: [PATCH_OP], Operations })),
      ).toMatchObject({ scimType: 'invalidSyntax' });
    }
  });

  it('Should refuse a body that is not an object, an operation that is not one, and an unknown op', () => {
    expect(scimError(() => applyPatch(registry, 'User', user, []))).toMatchObject({
      scimType: 'invalidSyntax',
    });
    expect(failure('remove' as unknown as Record<string, unknown>)).toMatchObject({
      scimType: 'invalidSyntax',
    });
    expect(failure({ op: 'delete', path: 'title' })).toMatchObject({
      status: 400,
      scimType: 'invalidSyntax',
    });
    expect(failure({ path: 'title', value: 'x' })).toMatchObject({ scimType: 'invalidSyntax' });
  });

  it(`Should answer 413 past ${MAX_PATCH_OPERATIONS} operations, as RFC 7644 §3.7.4 does for bulk`, () => {
    const ops = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({
      op: 'replace',
      path: 'title',
      value: 'x',
    }));
    expect(failure(...ops)).toMatchObject({ status: 413 });
  });

  it('Should refuse remove without a path with noTarget (RFC 7644 §3.5.2.2)', () => {
    expect(failure({ op: 'remove' })).toMatchObject({ status: 400, scimType: 'noTarget' });
  });

  it('Should refuse add or replace without a value with invalidValue', () => {
    expect(failure({ op: 'add', path: 'title' })).toMatchObject({ scimType: 'invalidValue' });
    expect(failure({ op: 'replace', path: 'title' })).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should refuse a path that is not a string with invalidPath', () => {
    expect(failure({ op: 'replace', path: 7, value: 'x' })).toMatchObject({
      scimType: 'invalidPath',
    });
  });

  it('Should accept op names in any case and "operations" spelled in any case', () => {
    const result = applyPatch(registry, 'User', user, {
      schemas: [PATCH_OP],
      operations: [{ OP: 'Replace', Path: 'title', Value: 'Head nurse' }],
    });
    expect(result.resource['title']).toBe('Head nurse');
  });

  it('Should name the failing operation in the error', () => {
    expect(
      failure(
        { op: 'replace', path: 'title', value: 'x' },
        { op: 'replace', path: 'nope', value: 1 },
      ).detail,
    ).toMatch(/^operation 2 \(replace nope\): /);
  });
});

describe('paths (RFC 7644 §3.10, figure 7)', () => {
  it('Should refuse an attribute no schema defines with invalidPath', () => {
    expect(failure({ op: 'replace', path: 'favouriteColour', value: 'green' })).toMatchObject({
      status: 400,
      scimType: 'invalidPath',
    });
  });

  it('Should refuse an unknown sub-attribute, a third level and a malformed path with invalidPath', () => {
    for (const path of [
      'name.nickname',
      'name.givenName.first',
      'name..givenName',
      'emails[type eq "work"',
      '.title',
      'emails[type eq "work"]value',
    ]) {
      expect(failure({ op: 'replace', path, value: 'x' })).toMatchObject({
        scimType: 'invalidPath',
      });
    }
  });

  it('Should refuse a URN that is not a schema of the resource type with invalidPath', () => {
    expect(
      failure({ op: 'replace', path: 'urn:example:unknown:department', value: 'x' }),
    ).toMatchObject({ scimType: 'invalidPath' });
  });

  it('Should refuse a value filter on a single-valued attribute with invalidPath', () => {
    expect(
      failure({ op: 'replace', path: 'name[givenName eq "Anna"].familyName', value: 'x' }),
    ).toMatchObject({ scimType: 'invalidPath' });
  });

  it('Should refuse a malformed or unsupported value filter with invalidFilter', () => {
    for (const path of [
      'emails[type eq]',
      'emails[label eq "work"]',
      'emails[primary gt true]',
      'emails[type eq 1]',
      'emails[type[value eq "x"]]',
    ]) {
      expect(failure({ op: 'remove', path })).toMatchObject({
        status: 400,
        scimType: 'invalidFilter',
      });
    }
  });

  it('Should resolve names case-insensitively, fully qualified names included', () => {
    expect(
      patched({ op: 'replace', path: 'NAME.GIVENNAME', value: 'Annie' })['name'],
    ).toMatchObject({ givenName: 'Annie' });
    expect(patched({ op: 'replace', path: `${USER}:title`, value: 'Head nurse' })['title']).toBe(
      'Head nurse',
    );
    expect(
      patched({ op: 'replace', path: `${ENTERPRISE.toUpperCase()}:DEPARTMENT`, value: 'Day' })[
        ENTERPRISE
      ],
    ).toMatchObject({ department: 'Day' });
  });
});

describe('add (RFC 7644 §3.5.2.1)', () => {
  it('Should add an attribute the resource does not have', () => {
    expect(patched({ op: 'add', path: 'nickName', value: 'Babs' })['nickName']).toBe('Babs');
  });

  it('Should replace the value of a single-valued attribute', () => {
    expect(patched({ op: 'add', path: 'title', value: 'Head nurse' })['title']).toBe('Head nurse');
  });

  it('Should merge sub-attributes into a complex attribute, keeping the others', () => {
    expect(patched({ op: 'add', path: 'name', value: { middleName: 'Maria' } })['name']).toEqual({
      formatted: 'Anna Berg',
      familyName: 'Berg',
      givenName: 'Anna',
      middleName: 'Maria',
    });
  });

  it('Should add a sub-attribute, creating the complex attribute when needed', () => {
    const user = representativeUser();
    delete user['name'];
    const result = applyPatch(
      registry,
      'User',
      user,
      patchOp({ op: 'add', path: 'name.givenName', value: 'Anna' }),
    );
    expect(result.resource['name']).toEqual({ givenName: 'Anna' });
  });

  it('Should append new values to a multi-valued attribute', () => {
    const emails = patched({
      op: 'add',
      path: 'emails',
      value: [{ value: 'anna@other.example', type: 'other' }],
    })['emails'];
    expect(emails).toEqual([
      ...(representativeUser()['emails'] as unknown[]),
      { value: 'anna@other.example', type: 'other' },
    ]);
  });

  it('Should change nothing when adding a value that is already there', () => {
    const result = patchUser({
      op: 'add',
      path: 'emails',
      value: [{ value: 'ANNA@home.example', type: 'home' }],
    });
    expect(result.changed).toBe(false);
    expect(result.resource).toEqual(representativeUser());
  });

  it('Should make other values non-primary when an added value is primary (RFC 7644 §3.5.2)', () => {
    const emails = patched({
      op: 'add',
      path: 'emails',
      value: [{ value: 'new@north.example', type: 'work', primary: true }],
    })['emails'];
    expect(emails).toEqual([
      { value: 'anna.berg@north.example', type: 'work', primary: false },
      { value: 'anna@home.example', type: 'home' },
      { value: 'new@north.example', type: 'work', primary: true },
    ]);
  });

  it('Should refuse adding two primary values at once', () => {
    const value = [
      { value: 'a@x.example', primary: true },
      { value: 'b@x.example', primary: true },
    ];
    expect(failure({ op: 'add', path: 'emails', value })).toMatchObject({
      scimType: 'invalidValue',
    });
  });

  it('Should merge into the values a filter selects', () => {
    const addresses = patched({
      op: 'add',
      path: 'addresses[type eq "work"]',
      value: { postalCode: '903 25' },
    })['addresses'];
    expect(addresses).toEqual([
      {
        type: 'work',
        streetAddress: 'Storgatan 1',
        locality: 'Umeå',
        country: 'SE',
        primary: true,
        postalCode: '903 25',
      },
    ]);
  });

  it('Should, without a path, add each attribute of the value: merge complex, append multi-valued, set simple', () => {
    const out = patched({
      op: 'add',
      value: {
        nickName: 'Babs',
        name: { middleName: 'Maria' },
        roles: [{ value: 'night-lead' }],
        [ENTERPRISE]: { costCenter: 'CC-9' },
      },
    });
    expect(out).toMatchObject({
      nickName: 'Babs',
      name: { givenName: 'Anna', middleName: 'Maria' },
      roles: [{ value: 'nurse', primary: true }, { value: 'night-lead' }],
      [ENTERPRISE]: { employeeNumber: '7', department: 'Night staff', costCenter: 'CC-9' },
    });
  });

  it('Should accept an extension URN as the path, with an object of its attributes', () => {
    expect(
      patched({ op: 'add', path: ENTERPRISE, value: { division: 'North' } })[ENTERPRISE],
    ).toMatchObject({ division: 'North', department: 'Night staff' });
  });

  it('Should list an extension in schemas once it has a value', () => {
    const user = representativeUser();
    delete user[ENTERPRISE];
    user['schemas'] = [USER];
    const result = applyPatch(
      registry,
      'User',
      user,
      patchOp({ op: 'add', path: `${ENTERPRISE}:department`, value: 'Day' }),
    );
    expect(result.resource['schemas']).toEqual([USER, ENTERPRISE]);
  });

  it('Should change nothing on add of null', () => {
    expect(patchUser({ op: 'add', path: 'title', value: null }).changed).toBe(false);
  });
});

describe('replace (RFC 7644 §3.5.2.3)', () => {
  it('Should replace a simple attribute', () => {
    expect(
      patched({ op: 'replace', path: 'displayName', value: 'Anna M. Berg' })['displayName'],
    ).toBe('Anna M. Berg');
  });

  it('Should merge into a complex attribute: sub-attributes not given are left unchanged', () => {
    expect(patched({ op: 'replace', path: 'name', value: { familyName: 'Lind' } })['name']).toEqual(
      {
        formatted: 'Anna Berg',
        familyName: 'Lind',
        givenName: 'Anna',
      },
    );
  });

  it('Should unassign a sub-attribute replaced with null', () => {
    expect(patched({ op: 'replace', path: 'name', value: { formatted: null } })['name']).toEqual({
      familyName: 'Berg',
      givenName: 'Anna',
    });
  });

  it('Should replace all values of a multi-valued attribute when there is no filter', () => {
    expect(
      patched({ op: 'replace', path: 'emails', value: [{ value: 'only@x.example' }] })['emails'],
    ).toEqual([{ value: 'only@x.example' }]);
  });

  it('Should replace the sub-attribute of the values a filter selects', () => {
    expect(
      patched({ op: 'replace', path: 'emails[type eq "work"].value', value: 'anna@north.example' })[
        'emails'
      ],
    ).toEqual([
      { value: 'anna@north.example', type: 'work', primary: true },
      { value: 'anna@home.example', type: 'home' },
    ]);
  });

  it('Should replace whole the values a filter selects', () => {
    expect(
      patched({
        op: 'replace',
        path: 'emails[type eq "home"]',
        value: { value: 'anna@new-home.example', type: 'home' },
      })['emails'],
    ).toEqual([
      { value: 'anna.berg@north.example', type: 'work', primary: true },
      { value: 'anna@new-home.example', type: 'home' },
    ]);
  });

  it('Should replace addresses[type eq "work"].streetAddress', () => {
    expect(
      patched({
        op: 'replace',
        path: 'addresses[type eq "work"].streetAddress',
        value: 'Kungsgatan 2',
      })['addresses'],
    ).toEqual([
      {
        type: 'work',
        streetAddress: 'Kungsgatan 2',
        locality: 'Umeå',
        country: 'SE',
        primary: true,
      },
    ]);
  });

  it('Should select with "and": emails[type eq "work" and primary eq true].value', () => {
    const emails = patched({
      op: 'replace',
      path: 'emails[type eq "work" and primary eq true].value',
      value: 'w@north.example',
    })['emails'];
    expect(emails).toEqual([
      { value: 'w@north.example', type: 'work', primary: true },
      { value: 'anna@home.example', type: 'home' },
    ]);
  });

  it('Should create the value an eq-only filter describes when none matches', () => {
    expect(
      patched({ op: 'replace', path: 'emails[type eq "other"].value', value: 'a@other.example' })[
        'emails'
      ],
    ).toEqual([
      ...(representativeUser()['emails'] as unknown[]),
      { type: 'other', value: 'a@other.example' },
    ]);
  });

  it('Should answer noTarget when a filter that describes no single value matches nothing (RFC 7644 §3.5.2.3)', () => {
    for (const path of [
      'emails[value co "nowhere"].type',
      'emails[type eq "fax" or type eq "pager"].value',
      'emails[not (type pr)].value',
    ]) {
      expect(failure({ op: 'replace', path, value: 'x' })).toMatchObject({
        status: 400,
        scimType: 'noTarget',
      });
    }
  });

  it('Should unassign an attribute replaced with null', () => {
    expect(patched({ op: 'replace', path: 'title', value: null })).not.toHaveProperty('title');
    expect(patched({ op: 'replace', path: 'emails', value: [] })).not.toHaveProperty('emails');
  });

  it('Should make other values non-primary when one is made primary through a filter', () => {
    expect(
      patched({ op: 'replace', path: 'emails[type eq "home"].primary', value: true })['emails'],
    ).toEqual([
      { value: 'anna.berg@north.example', type: 'work', primary: false },
      { value: 'anna@home.example', type: 'home', primary: true },
    ]);
  });

  it('Should refuse making two values primary in one operation', () => {
    expect(failure({ op: 'replace', path: 'emails[value pr].primary', value: true })).toMatchObject(
      { scimType: 'invalidValue' },
    );
    const two = [
      { value: 'a@x.example', primary: true },
      { value: 'b@x.example', primary: true },
    ];
    expect(failure({ op: 'replace', path: 'emails', value: two })).toMatchObject({
      scimType: 'invalidValue',
    });
  });

  it('Should, without a path, replace each attribute of the value and leave others alone', () => {
    const out = patched({
      op: 'replace',
      value: { displayName: 'A. Berg', [ENTERPRISE]: { department: 'Day' } },
    });
    expect(out).toMatchObject({
      displayName: 'A. Berg',
      title: 'Night nurse',
      [ENTERPRISE]: { employeeNumber: '7', department: 'Day' },
    });
  });

  it('Should refuse a value without a path that is not an object', () => {
    expect(failure({ op: 'replace', value: 'Anna' })).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should refuse an unknown attribute in a value without a path, naming it', () => {
    const error = failure({ op: 'replace', value: { displayName: 'x', shoeSize: 41 } });
    expect(error).toMatchObject({ scimType: 'invalidPath' });
    expect(error.detail).toContain('shoeSize');
  });
});

describe('remove (RFC 7644 §3.5.2.2)', () => {
  it('Should unassign a single-valued attribute', () => {
    expect(patched({ op: 'remove', path: 'title' })).not.toHaveProperty('title');
  });

  it('Should remove a sub-attribute, and the complex attribute with its last one', () => {
    expect(patched({ op: 'remove', path: 'name.formatted' })['name']).toEqual({
      familyName: 'Berg',
      givenName: 'Anna',
    });
    expect(
      patched(
        { op: 'remove', path: 'name.formatted' },
        { op: 'remove', path: 'name.familyName' },
        { op: 'remove', path: 'name.givenName' },
      ),
    ).not.toHaveProperty('name');
  });

  it('Should remove every value of a multi-valued attribute without a filter', () => {
    expect(patched({ op: 'remove', path: 'emails' })).not.toHaveProperty('emails');
  });

  it('Should remove the values a filter selects, and unassign the attribute with the last one', () => {
    expect(patched({ op: 'remove', path: 'emails[type eq "home"]' })['emails']).toEqual([
      { value: 'anna.berg@north.example', type: 'work', primary: true },
    ]);
    expect(patched({ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' })).not.toHaveProperty(
      'phoneNumbers',
    );
  });

  it('Should drop a value whose "value" is removed, and keep one that only loses another sub-attribute', () => {
    expect(patched({ op: 'remove', path: 'emails[type eq "home"].value' })['emails']).toEqual([
      { value: 'anna.berg@north.example', type: 'work', primary: true },
    ]);
    expect(
      patched({ op: 'remove', path: 'addresses[type eq "work"].locality' })['addresses'],
    ).toEqual([{ type: 'work', streetAddress: 'Storgatan 1', country: 'SE', primary: true }]);
  });

  it('Should answer noTarget when the filter matches nothing (RFC 7644 §3.12)', () => {
    expect(failure({ op: 'remove', path: 'emails[type eq "other"]' })).toMatchObject({
      status: 400,
      scimType: 'noTarget',
    });
  });

  it('Should change nothing when removing an attribute that has no value', () => {
    const result = patchUser({ op: 'remove', path: 'nickName' });
    expect(result.changed).toBe(false);
  });

  it('Should refuse removing the required userName with mutability (RFC 7644 §3.5.2.2)', () => {
    expect(failure({ op: 'remove', path: 'userName' })).toMatchObject({
      status: 400,
      scimType: 'mutability',
    });
    expect(failure({ op: 'replace', path: 'userName', value: null })).toMatchObject({
      scimType: 'mutability',
    });
  });

  it('Should remove the values given with a multi-valued path', () => {
    expect(
      patched({ op: 'remove', path: 'emails', value: [{ value: 'anna@home.example' }] })['emails'],
    ).toEqual([{ value: 'anna.berg@north.example', type: 'work', primary: true }]);
  });

  it('Should remove an extension attribute, and the extension and its schema with the last one', () => {
    expect(patched({ op: 'remove', path: `${ENTERPRISE}:department` })[ENTERPRISE]).toEqual({
      employeeNumber: '7',
      manager: { value: 'mgr-1' },
    });
    const out = patched({ op: 'remove', path: ENTERPRISE });
    expect(out).not.toHaveProperty(ENTERPRISE);
    expect(out['schemas']).toEqual([USER]);
  });
});

describe('value filters, evaluated in memory (RFC 7644 §3.4.2.2)', () => {
  const remaining = (path: string) =>
    (patched({ op: 'remove', path })['emails'] as { value: string }[] | undefined)?.map(
      (e) => e.value,
    ) ?? [];

  it('Should compare strings case-insensitively unless the attribute is caseExact', () => {
    expect(remaining('emails[type eq "HOME"]')).toEqual(['anna.berg@north.example']);
    const badges = registryWithBadges();
    const badge = {
      schemas: [BADGE, BADGE_SITE],
      number: 1,
      keys: [{ value: 'AbC' }, { value: 'def' }],
      [BADGE_SITE]: { site: 'Umeå' },
    };
    const error = scimError(() =>
      applyPatch(badges, 'Badge', badge, patchOp({ op: 'remove', path: 'keys[value eq "abc"]' })),
    );
    expect(error.scimType).toBe('noTarget');
    expect(
      applyPatch(badges, 'Badge', badge, patchOp({ op: 'remove', path: 'keys[value eq "AbC"]' }))
        .resource['keys'],
    ).toEqual([{ value: 'def' }]);
  });

  it('Should support ne, co, sw, ew and pr', () => {
    expect(remaining('emails[type ne "work"]')).toEqual(['anna.berg@north.example']);
    expect(remaining('emails[value co "HOME"]')).toEqual(['anna.berg@north.example']);
    expect(remaining('emails[value sw "anna.berg"]')).toEqual(['anna@home.example']);
    expect(remaining('emails[value ew ".example" and type eq "home"]')).toEqual([
      'anna.berg@north.example',
    ]);
    expect(remaining('emails[primary pr]')).toEqual(['anna@home.example']);
  });

  it('Should support not, or, and parentheses with and binding tighter than or', () => {
    expect(remaining('emails[not (type eq "work")]')).toEqual(['anna.berg@north.example']);
    expect(remaining('emails[type eq "home" or type eq "work" and primary eq false]')).toEqual([
      'anna.berg@north.example',
    ]);
    expect(remaining('emails[(type eq "home" or type eq "work") and primary eq true]')).toEqual([
      'anna@home.example',
    ]);
  });

  it('Should order numbers and dateTimes, and compare booleans given as "True"', () => {
    const badges = registryWithBadges();
    const badge = {
      schemas: [BADGE, BADGE_SITE],
      number: 1,
      keys: [
        { value: 'a', rank: 1, issuedAt: '2024-01-01T00:00:00Z' },
        { value: 'b', rank: 5, issuedAt: '2024-01-01T02:00:00+01:00', primary: true },
      ],
      [BADGE_SITE]: { site: 'Umeå' },
    };
    const left = (path: string) =>
      (
        applyPatch(badges, 'Badge', badge, patchOp({ op: 'remove', path })).resource['keys'] as
          | { value: string }[]
          | undefined
      )?.map((k) => k.value);
    expect(left('keys[rank gt 2]')).toEqual(['a']);
    expect(left('keys[rank le 1]')).toEqual(['b']);
    expect(left('keys[issuedAt gt "2024-01-01T00:30:00Z"]')).toEqual(['a']);
    expect(left('keys[issuedAt eq "2024-01-01T01:00:00Z"]')).toEqual(['a']);
    expect(left('keys[primary eq "True"]')).toEqual(['a']);
  });

  it('Should select simple values of a multi-valued attribute with "value"', () => {
    const badges = registryWithBadges();
    const badge = {
      schemas: [BADGE, BADGE_SITE],
      number: 1,
      tags: ['night', 'Day'],
      [BADGE_SITE]: { site: 'Umeå' },
    };
    expect(
      applyPatch(badges, 'Badge', badge, patchOp({ op: 'remove', path: 'tags[value eq "day"]' }))
        .resource['tags'],
    ).toEqual(['night']);
  });
});

describe('mutability (RFC 7644 §3.5.2)', () => {
  it('Should refuse changing id or meta with mutability', () => {
    expect(failure({ op: 'replace', path: 'id', value: 'another' })).toMatchObject({
      status: 400,
      scimType: 'mutability',
    });
    expect(
      failure({ op: 'replace', path: 'meta.lastModified', value: '2030-01-01T00:00:00Z' }),
    ).toMatchObject({ scimType: 'mutability' });
    expect(failure({ op: 'remove', path: 'meta' })).toMatchObject({ scimType: 'mutability' });
  });

  it('Should accept the id the resource already has, changing nothing', () => {
    const result = patchUser({ op: 'replace', value: { id: representativeUser()['id'] } });
    expect(result.changed).toBe(false);
  });

  it('Should refuse adding groups to a user: they are read-only', () => {
    expect(failure({ op: 'add', path: 'groups', value: [{ value: 'g1' }] })).toMatchObject({
      scimType: 'mutability',
    });
  });

  it('Should take an empty or null read-only attribute the resource lacks as no change (RFC 7643 §2.5)', () => {
    expect(patchUser({ op: 'replace', value: { groups: [] } }).changed).toBe(false);
    expect(patchUser({ op: 'add', path: 'groups', value: null }).changed).toBe(false);
    expect(failure({ op: 'replace', value: { meta: null } })).toMatchObject({
      scimType: 'mutability',
    });
  });

  it('Should refuse setting the read-only manager.displayName', () => {
    expect(
      failure({ op: 'replace', path: `${ENTERPRISE}:manager.displayName`, value: 'Maja' }),
    ).toMatchObject({ scimType: 'mutability' });
  });

  it('Should set an immutable attribute that has no value, and refuse changing it once set', () => {
    const badges = registryWithBadges();
    const badge = { schemas: [BADGE, BADGE_SITE], number: 1, [BADGE_SITE]: { site: 'Umeå' } };
    const first = applyPatch(
      badges,
      'Badge',
      badge,
      patchOp({ op: 'add', path: 'serial', value: 'S-1' }),
    );
    expect(first.resource['serial']).toBe('S-1');
    expect(
      applyPatch(
        badges,
        'Badge',
        first.resource,
        patchOp({ op: 'replace', path: 'serial', value: 'S-1' }),
      ).changed,
    ).toBe(false);
    const error = scimError(() =>
      applyPatch(
        badges,
        'Badge',
        first.resource,
        patchOp({ op: 'replace', path: 'serial', value: 'S-2' }),
      ),
    );
    expect(error).toMatchObject({ status: 400, scimType: 'mutability' });
  });
});

describe('values are normalised as in POST and PUT', () => {
  it('Should map names in values to their canonical case and coerce "False"', () => {
    const out = patched({
      op: 'add',
      path: 'emails',
      value: [{ VALUE: 'x@x.example', Type: 'other', Primary: 'False' }],
    });
    expect((out['emails'] as unknown[]).at(-1)).toEqual({
      value: 'x@x.example',
      type: 'other',
      primary: false,
    });
  });

  it('Should refuse a value of the wrong type, naming the attribute', () => {
    expect(failure({ op: 'replace', path: 'active', value: 'maybe' }).detail).toContain('active');
    expect(failure({ op: 'replace', path: 'name', value: ['Anna'] })).toMatchObject({
      scimType: 'invalidValue',
    });
    expect(
      failure({ op: 'add', path: 'emails', value: [{ value: 'x@x.example', label: 'w' }] }),
    ).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should refuse a userName with whitespace', () => {
    expect(failure({ op: 'replace', path: 'userName', value: 'anna berg' })).toMatchObject({
      scimType: 'invalidValue',
    });
  });

  it('Should keep a new password for the directory to hash', () => {
    const result = patchUser({ op: 'replace', path: 'password', value: 'a new passphrase' });
    expect(result.changed).toBe(true);
    expect(result.resource['password']).toBe('a new passphrase');
  });
});

describe('atomicity and change detection', () => {
  it('Should apply nothing when any operation fails', () => {
    const user = deepFreeze(representativeUser());
    expect(() =>
      applyPatch(
        registry,
        'User',
        user,
        patchOp({ op: 'replace', path: 'title', value: 'x' }, { op: 'remove', path: 'userName' }),
      ),
    ).toThrow();
    expect(user).toEqual(representativeUser());
  });

  it('Should apply operations in order', () => {
    expect(
      patched(
        { op: 'replace', path: 'title', value: 'a' },
        { op: 'replace', path: 'title', value: 'b' },
      )['title'],
    ).toBe('b');
  });

  it('Should say changed is false, and return the resource as it was, when nothing changes', () => {
    const user = deepFreeze(representativeUser());
    const result = applyPatch(
      registry,
      'User',
      user,
      patchOp(
        { op: 'replace', path: 'title', value: 'Night nurse' },
        { op: 'replace', value: { active: 'True' } },
      ),
    );
    expect(result).toEqual({ resource: user, changed: false });
  });

  it('Should say changed is false when operations undo each other', () => {
    const result = patchUser(
      { op: 'replace', path: 'title', value: 'x' },
      { op: 'replace', path: 'title', value: 'Night nurse' },
    );
    expect(result.changed).toBe(false);
  });

  it('Should share untouched values with the input and never mutate it', () => {
    const user = deepFreeze(representativeUser());
    const result = applyPatch(
      registry,
      'User',
      user,
      patchOp({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Day' }),
    );
    expect(result.resource['emails']).toBe(user['emails']);
    expect(result.resource[ENTERPRISE]).not.toBe(user[ENTERPRISE]);
    expect(user[ENTERPRISE]).toMatchObject({ department: 'Night staff' });
  });
});

describe('group members: changed set-based, never loaded', () => {
  const patchGroup = (...operations: Record<string, unknown>[]) =>
    applyPatch(registry, 'Group', deepFreeze(representativeGroup()), patchOp(...operations));
  const groupFailure = (...operations: Record<string, unknown>[]) =>
    scimError(() => patchGroup(...operations));

  it('Should return members added with path "members" as additions', () => {
    const result = patchGroup({
      op: 'add',
      path: 'members',
      value: [{ value: 'u1', display: 'Anna' }, { value: 'u2' }],
    });
    expect(result).toEqual({
      resource: representativeGroup(),
      changed: false,
      memberChanges: { add: ['u1', 'u2'], remove: [] },
    });
  });

  it('Should return members[value eq "id"] removed, several ids joined by or', () => {
    expect(patchGroup({ op: 'remove', path: 'members[value eq "u1"]' }).memberChanges).toEqual({
      add: [],
      remove: ['u1'],
    });
    expect(
      patchGroup({ op: 'remove', path: 'members[value eq "u1" or value eq "u2"]' }).memberChanges,
    ).toEqual({ add: [], remove: ['u1', 'u2'] });
  });

  it('Should remove the members given as a value array', () => {
    expect(
      patchGroup({
        op: 'remove',
        path: 'members',
        value: [{ value: 'u1' }, { value: 'u2', $ref: null }],
      }).memberChanges,
    ).toEqual({ add: [], remove: ['u1', 'u2'] });
  });

  it('Should remove every member on remove of members without a value', () => {
    expect(patchGroup({ op: 'remove', path: 'members' }).memberChanges).toEqual({
      add: [],
      remove: 'all',
    });
  });

  it('Should replace members as remove all, then add', () => {
    expect(
      patchGroup({ op: 'replace', path: 'members', value: [{ value: 'u3' }] }).memberChanges,
    ).toEqual({ add: ['u3'], remove: 'all' });
    expect(patchGroup({ op: 'replace', path: 'members', value: [] }).memberChanges).toEqual({
      add: [],
      remove: 'all',
    });
    expect(
      patchGroup({ op: 'replace', value: { members: [{ value: 'u4' }] } }).memberChanges,
    ).toEqual({ add: ['u4'], remove: 'all' });
  });

  it('Should fold member operations in order', () => {
    expect(
      patchGroup(
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
        { op: 'remove', path: 'members[value eq "u1"]' },
      ).memberChanges,
    ).toEqual({
      add: [],
      remove: ['u1'],
    });
    expect(
      patchGroup(
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      ).memberChanges,
    ).toEqual({
      add: ['u1'],
      remove: ['u1'],
    });
  });

  it('Should refuse filters on members other than value eq, joined by or, with invalidFilter', () => {
    for (const path of [
      'members[display eq "Anna"]',
      'members[value ne "u1"]',
      'members[value eq "u1" and value eq "u2"]',
    ]) {
      expect(groupFailure({ op: 'remove', path })).toMatchObject({
        status: 400,
        scimType: 'invalidFilter',
      });
    }
  });

  it('Should refuse member sub-attribute paths and filtered add or replace with invalidPath', () => {
    expect(groupFailure({ op: 'remove', path: 'members.value' })).toMatchObject({
      scimType: 'invalidPath',
    });
    expect(
      groupFailure({ op: 'replace', path: 'members[value eq "u1"].display', value: 'x' }),
    ).toMatchObject({ scimType: 'invalidPath' });
    expect(
      groupFailure({ op: 'add', path: 'members[value eq "u1"]', value: { value: 'u1' } }),
    ).toMatchObject({ scimType: 'invalidPath' });
  });

  it('Should refuse a member without a value', () => {
    expect(
      groupFailure({ op: 'add', path: 'members', value: [{ display: 'Anna' }] }),
    ).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should return no member changes when no operation touches members, and changed for the group itself', () => {
    const result = patchGroup({ op: 'replace', path: 'displayName', value: 'Day staff' });
    expect(result).toEqual({
      resource: { ...representativeGroup(), displayName: 'Day staff' },
      changed: true,
    });
  });

  it('Should refuse removing the required displayName', () => {
    expect(groupFailure({ op: 'remove', path: 'displayName' })).toMatchObject({
      scimType: 'mutability',
    });
  });

  it('Should keep member changes atomic with the rest of the PATCH', () => {
    expect(
      groupFailure(
        { op: 'add', path: 'members', value: [{ value: 'u1' }] },
        { op: 'replace', path: 'id', value: 'x' },
      ),
    ).toMatchObject({
      scimType: 'mutability',
    });
  });
});

describe('resource shape', () => {
  it('Should keep id, meta and schemas of the input', () => {
    const out = patched({ op: 'replace', path: 'title', value: 'x' });
    const user: SCIMResource = representativeUser();
    expect(out).toEqual({ ...user, title: 'x' });
    expect(Object.keys(out)).toEqual(Object.keys(user));
  });

  it('Should patch a group with the Group schema only', () => {
    expect(
      scimError(() =>
        applyPatch(
          registry,
          'Group',
          representativeGroup(),
          patchOp({ op: 'replace', path: 'userName', value: 'x' }),
        ),
      ),
    ).toMatchObject({
      scimType: 'invalidPath',
    });
  });
});
