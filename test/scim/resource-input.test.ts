import { describe, expect, it } from 'vitest';
import { normaliseResource } from '../../src/scim/resource-input.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';
import { ENTERPRISE, GROUP, scimError, USER } from './data/patch-fixtures.ts';
import { BADGE, BADGE_SITE, registryWithBadges } from './data/test-schemas.ts';

const registry = createSchemaRegistry();
const user = (body: Record<string, unknown>, mode: 'create' | 'replace' = 'create') =>
  normaliseResource(registry, 'User', { schemas: [USER], userName: 'anna', ...body }, { mode });
const group = (body: Record<string, unknown>) =>
  normaliseResource(
    registry,
    'Group',
    { schemas: [GROUP], displayName: 'Night staff', ...body },
    { mode: 'create' },
  );

describe('names (RFC 7644 §3.10)', () => {
  it('Should map attribute and sub-attribute names to the case their schema spells them', () => {
    const out = normaliseResource(
      registry,
      'User',
      {
        SCHEMAS: [USER],
        USERNAME: 'anna',
        NAME: { GIVENNAME: 'Anna' },
        Emails: [{ VALUE: 'a@x.example', Type: 'work' }],
      },
      { mode: 'create' },
    );
    expect(out).toEqual({
      schemas: [USER],
      userName: 'anna',
      name: { givenName: 'Anna' },
      emails: [{ value: 'a@x.example', type: 'work' }],
    });
  });

  it('Should nest extension attributes under their canonical URN, whatever case the URN is sent in', () => {
    const out = user({
      schemas: [USER, ENTERPRISE],
      [ENTERPRISE.toLowerCase()]: { Department: 'Night staff' },
    });
    expect(out[ENTERPRISE]).toEqual({ department: 'Night staff' });
    expect(out['schemas']).toEqual([USER, ENTERPRISE]);
  });

  it('Should accept fully qualified attribute names at the top level', () => {
    const out = user({
      [`${USER}:displayName`]: 'Anna Berg',
      [`${ENTERPRISE}:employeeNumber`]: '7',
    });
    expect(out).toMatchObject({ displayName: 'Anna Berg', [ENTERPRISE]: { employeeNumber: '7' } });
  });

  it('Should refuse one attribute given twice in two spellings', () => {
    expect(scimError(() => user({ displayname: 'a', displayName: 'b' }))).toMatchObject({
      status: 400,
      scimType: 'invalidValue',
    });
  });
});

describe('schemas (RFC 7643 §3)', () => {
  it('Should refuse a body without the core schema with invalidSyntax', () => {
    const error = scimError(() =>
      normaliseResource(
        registry,
        'User',
        { schemas: [ENTERPRISE], userName: 'anna' },
        { mode: 'create' },
      ),
    );
    expect(error).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(error.detail).toContain(USER);
  });

  it('Should refuse a body without schemas, or with schemas that is not an array of strings', () => {
    expect(
      scimError(() =>
        normaliseResource(registry, 'User', { userName: 'anna' }, { mode: 'create' }),
      ),
    ).toMatchObject({ scimType: 'invalidSyntax' });
    expect(scimError(() => user({ schemas: USER }))).toMatchObject({ scimType: 'invalidSyntax' });
    expect(scimError(() => user({ schemas: [USER, 7] }))).toMatchObject({
      scimType: 'invalidSyntax',
    });
  });

  it('Should ignore a schema URN it does not serve when no attribute sits under it', () => {
    const out = group({
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group'],
    });
    expect(out['schemas']).toEqual([GROUP]);
  });

  it('Should refuse attributes under a schema URN it does not serve with invalidSyntax, naming the URN', () => {
    const custom = 'urn:ietf:params:scim:schemas:extension:custom:2.0:User';
    const error = scimError(() =>
      user({ schemas: [USER, custom], [custom]: { worksiteId: '180' } }),
    );
    expect(error).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(error.detail).toContain(custom);
  });

  it('Should accept extension attributes whose URN schemas forgot, and list it', () => {
    expect(user({ [ENTERPRISE]: { department: 'Day' } })['schemas']).toEqual([USER, ENTERPRISE]);
  });

  it('Should leave an extension that carries nothing out of schemas', () => {
    expect(user({ schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: null } })).toEqual({
      schemas: [USER],
      userName: 'anna',
    });
  });

  it('Should refuse a resource without an extension its resource type requires', () => {
    const badges = registryWithBadges();
    const error = scimError(() =>
      normaliseResource(badges, 'Badge', { schemas: [BADGE], number: 1 }, { mode: 'create' }),
    );
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain(BADGE_SITE);
  });
});

describe('unknown and read-only attributes', () => {
  it('Should refuse an attribute no schema defines with invalidValue, naming it', () => {
    const error = scimError(() => user({ favouriteColour: 'green' }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('favouriteColour');
  });

  it('Should refuse an unknown sub-attribute, naming attribute and sub-attribute', () => {
    expect(
      scimError(() => user({ emails: [{ value: 'a@x.example', label: 'w' }] })).detail,
    ).toMatch(/emails.*label/);
  });

  it("Should ignore id, meta and a user's groups in a POST (RFC 7644 §3.3)", () => {
    const out = user({
      id: 'client-chosen',
      meta: { resourceType: 'User' },
      groups: [{ value: 'g1' }],
    });
    expect(out).toEqual({ schemas: [USER], userName: 'anna' });
  });

  it('Should ignore read-only attributes in a PUT (RFC 7644 §3.5.1)', () => {
    const out = user(
      { id: '0190a3c4', meta: { resourceType: 'User', version: 'W/"3"' }, groups: [] },
      'replace',
    );
    expect(out).toEqual({ schemas: [USER], userName: 'anna' });
  });

  it("Should drop read-only sub-attributes such as the manager's displayName", () => {
    const out = user({ [ENTERPRISE]: { manager: { value: 'mgr-1', displayName: 'Maja Lind' } } });
    expect(out[ENTERPRISE]).toEqual({ manager: { value: 'mgr-1' } });
  });

  it('Should keep the write-only password so the directory can hash it', () => {
    expect(user({ password: 'correct horse battery staple' })['password']).toBe(
      'correct horse battery staple',
    );
  });
});

describe('types (RFC 7643 §2.3)', () => {
  it('Should coerce "True", "False" and "true" to booleans, as Entra sends them', () => {
    expect(user({ active: 'True' })['active']).toBe(true);
    expect(user({ active: 'False' })['active']).toBe(false);
    expect(user({ active: 'true' })['active']).toBe(true);
    expect(user({ emails: [{ value: 'a@x.example', primary: 'TRUE' }] })['emails']).toEqual([
      { value: 'a@x.example', primary: true },
    ]);
  });

  it('Should refuse a boolean that is not true or false', () => {
    expect(scimError(() => user({ active: 'yes' }))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => user({ active: 1 }))).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should refuse a number or an object where a string belongs', () => {
    expect(scimError(() => user({ displayName: 42 })).detail).toContain('displayName');
    expect(scimError(() => user({ title: { text: 'x' } }))).toMatchObject({
      scimType: 'invalidValue',
    });
  });

  it('Should read integers and decimals sent as strings only when they parse exactly', () => {
    const badges = registryWithBadges();
    const badge = (body: Record<string, unknown>) =>
      normaliseResource(
        badges,
        'Badge',
        { schemas: [BADGE, BADGE_SITE], [BADGE_SITE]: { site: 'Umeå' }, number: 1, ...body },
        { mode: 'create' },
      );
    expect(badge({ number: '42', weight: '4.5' })).toMatchObject({ number: 42, weight: 4.5 });
    expect(badge({ weight: 3 })).toMatchObject({ weight: 3 });
    expect(scimError(() => badge({ number: '4.5' }))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => badge({ number: 1.5 }))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => badge({ number: '42abc' }))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => badge({ weight: '4,5' }))).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should accept xsd:dateTime values and refuse anything else', () => {
    const badges = registryWithBadges();
    const badge = (issuedAt: unknown) =>
      normaliseResource(
        badges,
        'Badge',
        { schemas: [BADGE], [BADGE_SITE]: { site: 'Umeå' }, number: 1, issuedAt },
        { mode: 'create' },
      );
    expect(badge('2008-01-23T04:56:22Z')['issuedAt']).toBe('2008-01-23T04:56:22Z');
    expect(badge('2008-01-23T04:56:22.123+01:00')['issuedAt']).toBe(
      '2008-01-23T04:56:22.123+01:00',
    );
    expect(scimError(() => badge('23/01/2008'))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => badge('2008-13-45T04:56:22Z'))).toMatchObject({
      scimType: 'invalidValue',
    });
  });

  it('Should refuse an array for a single-valued attribute and take a lone value for a multi-valued one', () => {
    expect(scimError(() => user({ displayName: ['a'] }))).toMatchObject({
      scimType: 'invalidValue',
    });
    expect(user({ emails: { value: 'a@x.example' } })['emails']).toEqual([
      { value: 'a@x.example' },
    ]);
  });

  it("Should take Entra's manager sent as a plain id as { value }", () => {
    expect(user({ [ENTERPRISE]: { manager: 'mgr-1' } })[ENTERPRISE]).toEqual({
      manager: { value: 'mgr-1' },
    });
  });
});

describe('unassigned values (RFC 7643 §2.5)', () => {
  it('Should drop explicit nulls, empty arrays and empty complex values', () => {
    const out = user({ displayName: null, emails: [], roles: [], name: {}, phoneNumbers: [null] });
    expect(out).toEqual({ schemas: [USER], userName: 'anna' });
  });

  it('Should drop null sub-attributes and keep the rest', () => {
    expect(user({ name: { givenName: 'Anna', middleName: null } })['name']).toEqual({
      givenName: 'Anna',
    });
  });
});

describe('primary (RFC 7643 §2.4)', () => {
  it('Should accept one primary value', () => {
    const emails = [
      { value: 'a@x.example', primary: true },
      { value: 'b@x.example', primary: false },
    ];
    expect(user({ emails })['emails']).toEqual(emails);
  });

  it('Should refuse two primary values with invalidValue', () => {
    const error = scimError(() =>
      user({
        emails: [
          { value: 'a@x.example', primary: true },
          { value: 'b@x.example', primary: 'True' },
        ],
      }),
    );
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('emails');
  });
});

describe('required attributes and userName', () => {
  it('Should refuse a user without userName and a group without displayName', () => {
    expect(
      scimError(() => normaliseResource(registry, 'User', { schemas: [USER] }, { mode: 'create' }))
        .detail,
    ).toContain('userName');
    expect(
      scimError(() =>
        normaliseResource(registry, 'Group', { schemas: [GROUP] }, { mode: 'create' }),
      ).detail,
    ).toContain('displayName');
  });

  it('Should refuse an empty or null userName', () => {
    expect(scimError(() => user({ userName: '' }))).toMatchObject({ scimType: 'invalidValue' });
    expect(scimError(() => user({ userName: null }))).toMatchObject({ scimType: 'invalidValue' });
  });

  it('Should refuse whitespace anywhere in userName rather than trim it', () => {
    for (const userName of [' anna', 'anna ', 'anna berg', 'anna\tberg']) {
      expect(scimError(() => user({ userName }))).toMatchObject({
        status: 400,
        scimType: 'invalidValue',
      });
    }
  });

  it('Should refuse a required attribute of an extension that is present', () => {
    const badges = registryWithBadges();
    const error = scimError(() =>
      normaliseResource(
        badges,
        'Badge',
        { schemas: [BADGE], number: 1, [BADGE_SITE]: { room: '12' } },
        { mode: 'create' },
      ),
    );
    expect(error.detail).toContain(`${BADGE_SITE}:site`);
  });
});

describe('immutable attributes in a PUT (RFC 7644 §3.5.1)', () => {
  const badges = registryWithBadges();
  const body = (serial?: string) => ({
    schemas: [BADGE],
    number: 1,
    [BADGE_SITE]: { site: 'Umeå' },
    ...(serial ? { serial } : {}),
  });

  it('Should accept the value an immutable attribute already has', () => {
    const current = { schemas: [BADGE], number: 1, serial: 'S-1' };
    expect(
      normaliseResource(badges, 'Badge', body('S-1'), { mode: 'replace', current })['serial'],
    ).toBe('S-1');
  });

  it('Should refuse a new value, or none, for an immutable attribute that has one', () => {
    const current = { schemas: [BADGE], number: 1, serial: 'S-1' };
    expect(
      scimError(() =>
        normaliseResource(badges, 'Badge', body('S-2'), { mode: 'replace', current }),
      ),
    ).toMatchObject({ scimType: 'mutability' });
    expect(
      scimError(() => normaliseResource(badges, 'Badge', body(), { mode: 'replace', current })),
    ).toMatchObject({ scimType: 'mutability' });
  });

  it('Should accept any value for an immutable attribute that has none yet', () => {
    const current = { schemas: [BADGE], number: 1 };
    expect(
      normaliseResource(badges, 'Badge', body('S-9'), { mode: 'replace', current })['serial'],
    ).toBe('S-9');
  });
});

describe('group members', () => {
  it('Should keep value, display and type and drop "$ref": null', () => {
    const out = group({
      members: [{ value: 'u1', display: 'Anna', $ref: null, type: 'User' }, { value: 'u2' }],
    });
    expect(out['members']).toEqual([
      { value: 'u1', display: 'Anna', type: 'User' },
      { value: 'u2' },
    ]);
  });

  it('Should refuse a member without a value', () => {
    const error = scimError(() => group({ members: [{ display: 'Anna', $ref: null }] }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('members');
  });

  it('Should drop an empty members array', () => {
    expect(group({ members: [] })).toEqual({ schemas: [GROUP], displayName: 'Night staff' });
  });
});

describe('the body itself', () => {
  it('Should refuse a body that is not a JSON object with invalidSyntax', () => {
    for (const body of [null, [], 'user', 7]) {
      expect(
        scimError(() => normaliseResource(registry, 'User', body, { mode: 'create' })),
      ).toMatchObject({ scimType: 'invalidSyntax' });
    }
  });

  it('Should not mutate the body it is given', () => {
    const body = {
      schemas: [USER],
      userName: 'anna',
      emails: [{ Value: 'a@x.example' }],
      meta: {},
    };
    const copy = structuredClone(body);
    normaliseResource(registry, 'User', body, { mode: 'create' });
    expect(body).toEqual(copy);
  });
});
