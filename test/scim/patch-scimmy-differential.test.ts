import SCIMMY from 'scimmy';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyPatch } from '../../src/scim/patch/apply-patch.ts';
import { createSchemaRegistry } from '../../src/scim/schema-registry.ts';
import { SCIMError } from '../../src/scim/scim-error.ts';
import { ENTERPRISE as E, patchOp, representativeUser } from './data/patch-fixtures.ts';

/**
 * Our PATCH against SCIMMY 1.3.5's `PatchOp.apply`, the reference we replaced for speed:
 * the same representative user, the same operations, the same outcome — except where we
 * chose otherwise on purpose, each listed below with its reason.
 */

// Built before SCIMMY's User schema is extended below (extend mutates SCIMMY's statics;
// vitest gives this file its own process).
const registry = createSchemaRegistry();

beforeAll(() => {
  SCIMMY.Resources.declare(SCIMMY.Resources.User).extend(SCIMMY.Schemas.EnterpriseUser);
});

type Op = Record<string, unknown>;
type Outcome = { error: string | undefined } | { resource: Record<string, unknown> };

/** The resource as JSON, without meta (SCIMMY rewrites it; we leave it to the caller). */
function shown(resource: object): Record<string, unknown> {
  const { meta: _meta, ...rest } = JSON.parse(JSON.stringify(resource)) as Record<string, unknown>;
  return rest;
}

function ours(ops: Op[]): Outcome {
  try {
    return {
      resource: shown(applyPatch(registry, 'User', representativeUser(), patchOp(...ops)).resource),
    };
  } catch (error) {
    if (error instanceof SCIMError) return { error: error.scimType };
    throw error;
  }
}

async function scimmy(ops: Op[]): Promise<Outcome> {
  try {
    const request = patchOp(...ops) as ConstructorParameters<typeof SCIMMY.Messages.PatchOp>[0];
    const patched = await new SCIMMY.Messages.PatchOp(request).apply(
      new SCIMMY.Schemas.User(representativeUser(), 'out'),
    );
    // SCIMMY returns nothing when nothing changed.
    return { resource: shown(patched ?? representativeUser()) };
  } catch (error) {
    return { error: (error as { scimType?: string }).scimType };
  }
}

const same: [string, Op[]][] = [
  ['replace a simple attribute', [{ op: 'replace', path: 'title', value: 'Head nurse' }]],
  ['replace a sub-attribute', [{ op: 'replace', path: 'name.givenName', value: 'Annie' }]],
  ['add an attribute the user lacks', [{ op: 'add', path: 'nickName', value: 'Babs' }]],
  ['remove an attribute', [{ op: 'remove', path: 'title' }]],
  [
    'replace emails[type eq "work"].value',
    [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'w@x.example' }],
  ],
  ['replace active with a boolean', [{ op: 'replace', path: 'active', value: false }]],
  [
    'add a new email',
    [{ op: 'add', path: 'emails', value: [{ value: 'o@x.example', type: 'other' }] }],
  ],
  ['remove emails[type eq "home"]', [{ op: 'remove', path: 'emails[type eq "home"]' }]],
  ['replace an extension attribute', [{ op: 'replace', path: `${E}:department`, value: 'Day' }]],
  ['add an extension attribute', [{ op: 'add', path: `${E}:costCenter`, value: 'CC-9' }]],
  ['remove an extension attribute', [{ op: 'remove', path: `${E}:department` }]],
  [
    'replace without a path',
    [{ op: 'replace', value: { displayName: 'A. Berg', title: 'Head nurse' } }],
  ],
  ['add without a path', [{ op: 'add', value: { nickName: 'Babs' } }]],
  [
    'replace addresses[type eq "work"].streetAddress',
    [{ op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: 'Kungsgatan 2' }],
  ],
  ['remove name.formatted', [{ op: 'remove', path: 'name.formatted' }]],
  [
    'replace all emails',
    [{ op: 'replace', path: 'emails', value: [{ value: 'only@x.example', type: 'work' }] }],
  ],
  ['remove all emails', [{ op: 'remove', path: 'emails' }]],
  ['remove the last phone number', [{ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' }]],
  [
    'replace the manager with an object',
    [{ op: 'replace', path: `${E}:manager`, value: { value: 'mgr-2' } }],
  ],
  [
    'add the manager with an object',
    [{ op: 'add', path: `${E}:manager`, value: { value: 'mgr-9' } }],
  ],
  ['remove the manager', [{ op: 'remove', path: `${E}:manager` }]],
  ['add into name', [{ op: 'add', path: 'name', value: { middleName: 'Maria' } }]],
  [
    'replace an extension without a path (merge)',
    [{ op: 'replace', value: { [E]: { department: 'Day' } } }],
  ],
  [
    'add an extension without a path (merge)',
    [{ op: 'add', value: { [E]: { division: 'North' } } }],
  ],
  [
    'replace a whole filtered value',
    [
      {
        op: 'replace',
        path: 'emails[type eq "home"]',
        value: { value: 'h2@x.example', type: 'home' },
      },
    ],
  ],
  [
    'Entra keys as paths without a path',
    [
      {
        op: 'replace',
        value: {
          'name.givenName': 'Gtfd',
          'emails[type eq "work"].value': 'g@x.example',
          [`${E}:employeeNumber`]: '8',
        },
      },
    ],
  ],
  ['replace userName', [{ op: 'replace', path: 'userName', value: 'anna.b' }]],
  ['replace externalId', [{ op: 'replace', path: 'externalId', value: 'okta-2' }]],
  ['remove roles[value eq "nurse"]', [{ op: 'remove', path: 'roles[value eq "nurse"]' }]],
  [
    'remove a sub-attribute of a filtered value',
    [{ op: 'remove', path: 'addresses[type eq "work"].locality' }],
  ],
  [
    'remove values given with the path',
    [{ op: 'remove', path: 'emails', value: [{ value: 'anna@home.example' }] }],
  ],
  [
    'replace through "and"',
    [
      {
        op: 'replace',
        path: 'emails[type eq "work" and primary eq true].value',
        value: 'z@x.example',
      },
    ],
  ],
  ['refuse changing id', [{ op: 'replace', path: 'id', value: 'other' }]],
  [
    'several operations in order',
    [
      { op: 'replace', path: 'title', value: 'x' },
      { op: 'add', path: 'nickName', value: 'y' },
      { op: 'remove', path: 'locale' },
    ],
  ],
];

describe('PATCH agrees with SCIMMY PatchOp.apply', () => {
  it.each(same)('Should %s as SCIMMY does', async (_name, ops) => {
    expect(ours(ops)).toEqual(await scimmy(ops));
  });
});

describe('deliberate differences from SCIMMY', () => {
  const check = async (
    ops: Op[],
    expectOurs: (o: Outcome) => void,
    expectSCIMMY: (o: Outcome) => void,
  ) => {
    expectOurs(ours(ops));
    expectSCIMMY(await scimmy(ops));
  };
  const emails = (o: Outcome) => ('resource' in o ? o.resource['emails'] : o);

  it('Should coerce "False" for a boolean, which Entra sends; SCIMMY refuses it', () =>
    check(
      [{ op: 'Replace', path: 'active', value: 'False' }],
      (o) => expect(o).toMatchObject({ resource: { active: false } }),
      (o) => expect(o).toEqual({ error: 'invalidValue' }),
    ));

  it('Should keep sub-attributes a replace of a complex value leaves out (RFC 7644 §3.5.2.3); SCIMMY drops them', () =>
    check(
      [{ op: 'replace', path: 'name', value: { familyName: 'Lind' } }],
      (o) =>
        expect(o).toMatchObject({
          resource: { name: { formatted: 'Anna Berg', givenName: 'Anna', familyName: 'Lind' } },
        }),
      (o) => expect(o).toMatchObject({ resource: { name: { familyName: 'Lind' } } }),
    ));

  it('Should replace a multi-valued attribute named in a value without a path (RFC 7644 §3.5.2.3); SCIMMY appends', () =>
    check(
      [{ op: 'replace', value: { roles: [{ value: 'lead' }] } }],
      (o) => expect(o).toMatchObject({ resource: { roles: [{ value: 'lead' }] } }),
      (o) =>
        expect(o).toMatchObject({
          resource: { roles: [{ value: 'nurse', primary: true }, { value: 'lead' }] },
        }),
    ));

  it('Should not add a value that is already there (RFC 7644 §3.5.2.1); SCIMMY adds a duplicate', () =>
    check(
      [{ op: 'add', path: 'emails', value: [{ value: 'anna@home.example', type: 'home' }] }],
      (o) => expect(emails(o)).toHaveLength(2),
      (o) => expect(emails(o)).toHaveLength(3),
    ));

  it('Should make the old primary email non-primary when a primary one is added (RFC 7644 §3.5.2); SCIMMY keeps two', () =>
    check(
      [
        {
          op: 'add',
          path: 'emails',
          value: [{ value: 'p@x.example', type: 'work', primary: true }],
        },
      ],
      (o) =>
        expect((emails(o) as { primary?: boolean }[]).filter((e) => e.primary)).toHaveLength(1),
      (o) =>
        expect((emails(o) as { primary?: boolean }[]).filter((e) => e.primary)).toHaveLength(2),
    ));

  it('Should create the value an eq filter describes, as Entra expects; SCIMMY answers noTarget as RFC 7644 §3.5.2.3 says', () =>
    check(
      [{ op: 'replace', path: 'emails[type eq "other"].value', value: 'o@x.example' }],
      (o) => expect(emails(o)).toContainEqual({ type: 'other', value: 'o@x.example' }),
      (o) => expect(o).toEqual({ error: 'noTarget' }),
    ));

  it('Should answer noTarget to a remove whose filter matches nothing (RFC 7644 §3.12); SCIMMY changes nothing', () =>
    check(
      [{ op: 'remove', path: 'emails[type eq "other"]' }],
      (o) => expect(o).toEqual({ error: 'noTarget' }),
      (o) => expect(emails(o)).toHaveLength(2),
    ));

  it('Should drop an email whose value is removed; SCIMMY keeps a value-less { type: "home" }', () =>
    check(
      [{ op: 'remove', path: 'emails[type eq "home"].value' }],
      (o) =>
        expect(emails(o)).toEqual([
          { value: 'anna.berg@north.example', type: 'work', primary: true },
        ]),
      (o) => expect(emails(o)).toContainEqual({ type: 'home' }),
    ));

  it('Should answer mutability to removing userName (RFC 7644 §3.5.2.2); SCIMMY answers invalidValue', () =>
    check(
      [{ op: 'remove', path: 'userName' }],
      (o) => expect(o).toEqual({ error: 'mutability' }),
      (o) => expect(o).toEqual({ error: 'invalidValue' }),
    ));

  it('Should take a manager sent as a plain id, as Entra sends it; SCIMMY refuses it', () =>
    check(
      [{ op: 'replace', path: `${E}:manager`, value: 'mgr-3' }],
      (o) => expect(o).toMatchObject({ resource: { [E]: { manager: { value: 'mgr-3' } } } }),
      (o) => expect(o).toEqual({ error: 'invalidValue' }),
    ));

  it('Should resolve paths case-insensitively (RFC 7644 §3.10); SCIMMY answers noTarget', () =>
    check(
      [{ op: 'replace', path: 'NAME.GIVENNAME', value: 'X' }],
      (o) => expect(o).toMatchObject({ resource: { name: { givenName: 'X' } } }),
      (o) => expect(o).toEqual({ error: 'noTarget' }),
    ));

  it('Should replace a sub-attribute its own filter names (RFC 7644 §3.5.2.3); SCIMMY removes first, then finds no match', () =>
    check(
      [{ op: 'replace', path: 'emails[type eq "work"].type', value: 'other' }],
      (o) =>
        expect(emails(o)).toContainEqual({
          value: 'anna.berg@north.example',
          type: 'other',
          primary: true,
        }),
      (o) => expect(o).toEqual({ error: 'noTarget' }),
    ));
});
