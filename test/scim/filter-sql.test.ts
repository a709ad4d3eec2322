import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FilterNode, parseFilter } from '../../src/scim/filter-parser.ts';
import { filterToSQL } from '../../src/scim/filter-sql.ts';
import { createSchemaRegistry, type SchemaRegistry } from '../../src/scim/schema-registry.ts';
import { SCIMError } from '../../src/scim/scim-error.ts';
import {
  insertGroup,
  insertTenant,
  insertUser,
  type UserRowInput,
} from '../helpers/directory-rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const TEST_EXT = 'urn:carebridge:test:1.0:User';

/** The standard registry plus a test extension with every type the core schemas lack. */
function testRegistry(): SchemaRegistry {
  const registry = createSchemaRegistry();
  const attr = (name: string, type: string, extra: Record<string, unknown> = {}) =>
    ({ name, type, multiValued: false, caseExact: false, ...extra }) as never;
  registry.addSchema({
    id: TEST_EXT,
    name: 'Test',
    description: 'Types for filter tests',
    attributes: [
      attr('level', 'integer'),
      attr('score', 'decimal'),
      attr('hiredAt', 'dateTime'),
      attr('onCall', 'boolean'),
      attr('badge', 'string', { caseExact: true }),
      attr('tags', 'string', { multiValued: true }),
    ],
  });
  registry.resourceType('User').schemaExtensions.push({ schema: TEST_EXT, required: false });
  return registry;
}

const registry = testRegistry();

function expectSCIMError(fn: () => unknown, scimType: string, detail?: RegExp) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SCIMError);
    expect((err as SCIMError).status).toBe(400);
    expect((err as SCIMError).scimType).toBe(scimType);
    if (detail) expect((err as SCIMError).detail).toMatch(detail);
    return;
  }
  throw new Error('expected a SCIMError');
}

describe('parseFilter', () => {
  it('Should give "and" precedence over "or"', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toEqual({
      op: 'or',
      terms: [
        { op: 'compare', path: 'a', operator: 'eq', value: { number: '1' } },
        {
          op: 'and',
          terms: [
            { op: 'compare', path: 'b', operator: 'eq', value: { number: '2' } },
            { op: 'compare', path: 'c', operator: 'eq', value: { number: '3' } },
          ],
        },
      ],
    } satisfies FilterNode);
  });

  it('Should keep "not (a and b)" as a negation of the whole group', () => {
    const tree = parseFilter('not (a eq 1 and b eq 2)');
    expect(tree.op).toBe('not');
    expect(tree.op === 'not' && tree.term.op).toBe('and');
  });

  it('Should keep two conditions on the same attribute', () => {
    const tree = parseFilter('userName sw "a" and userName ew "z"');
    expect(tree).toMatchObject({ op: 'and', terms: [{ operator: 'sw' }, { operator: 'ew' }] });
  });

  it('Should read operators, keywords and literals case-insensitively', () => {
    expect(parseFilter('active EQ True')).toEqual({
      op: 'compare',
      path: 'active',
      operator: 'eq',
      value: true,
    });
    expect(parseFilter('NOT (title PR)')).toEqual({
      op: 'not',
      term: { op: 'present', path: 'title' },
    });
    expect(parseFilter('x eq NULL')).toMatchObject({ value: null });
  });

  it('Should decode JSON escapes in strings', () => {
    expect(parseFilter('userName eq "x\\" or 1=1 --"')).toMatchObject({ value: 'x" or 1=1 --' });
    expect(parseFilter('userName eq "\\u00e9t\\u00e9"')).toMatchObject({ value: 'été' });
  });

  it('Should parse a value path with a logical expression inside', () => {
    expect(parseFilter('emails[type eq "work" and value co "@x"]')).toMatchObject({
      op: 'valuePath',
      path: 'emails',
      filter: { op: 'and' },
    });
  });

  it.each([
    ['', /empty/],
    ['userName', /operator/],
    ['userName eq', /value/],
    ['userName xx "a"', /unknown operator/],
    ['userName eq "a" and', /attribute/],
    ['(userName eq "a"', /"\)"/],
    ['userName eq "a")', /unexpected/],
    ['userName eq "unterminated', /string/],
    ['userName eq abc', /value/],
    ['emails[value eq "a" and x[y eq 1]]', /nest/],
    ['not userName eq "a"', /"\("/],
    ['userName eq 12abc', /number/],
    ['userName eq "a" ; drop table users', /unexpected character/],
  ])('Should refuse the malformed filter %j', (filter, detail) => {
    expectSCIMError(() => parseFilter(filter), 'invalidFilter', detail);
  });

  it('Should refuse a filter longer than 4 KB or nested deeper than 32', () => {
    expectSCIMError(
      () => parseFilter(`userName eq "${'a'.repeat(5000)}"`),
      'invalidFilter',
      /longer/,
    );
    expectSCIMError(
      () => parseFilter(`${'('.repeat(40)}a eq 1${')'.repeat(40)}`),
      'invalidFilter',
      /deeper/,
    );
    expect(() => parseFilter(`${'('.repeat(20)}a eq 1${')'.repeat(20)}`)).not.toThrow();
  });
});

describe('filterToSQL: SQL shape', () => {
  const user = (filter: string, paramOffset = 0) =>
    filterToSQL(registry, 'User', filter, { alias: 'u', paramOffset });

  it('Should compare userName on lower(user_name) so the unique index is used', () => {
    expect(user('userName eq "Alice"', 1)).toEqual({
      sql: '(lower(u.user_name) = lower($2::text))',
      params: ['Alice'],
    });
  });

  it('Should number parameters from the offset and never put values in the SQL', () => {
    const { sql, params } = user('userName eq "a\'b" or displayName co "x%_y" or title sw "z"', 3);
    expect(sql).toContain('$4');
    expect(sql).toContain('$5');
    expect(sql).toContain('$6');
    expect(sql).not.toContain("a'b");
    expect(params).toEqual(["a'b", '%x\\%\\_y%', 'z%']);
  });

  it('Should compare externalId exactly (caseExact) and id as a uuid', () => {
    expect(user('externalId eq "E1"').sql).toBe('(u.external_id = $1::text)');
    expect(user('id eq "0190d4c2-6c0e-7000-8000-000000000001"').sql).toBe('(u.id = $1::uuid)');
    expect(user('id eq "not-a-uuid"')).toEqual({ sql: 'FALSE', params: [] });
  });

  it('Should map active to the status column and meta dates to their columns', () => {
    expect(user('active eq true')).toEqual({
      sql: "((u.status = 'active') = $1::boolean)",
      params: [true],
    });
    expect(user('meta.lastModified gt "2024-01-01T00:00:00Z"').sql).toBe(
      '(u.updated_at > $1::timestamptz)',
    );
    expect(user('meta.created le "2024-01-01T00:00:00+02:00"').sql).toBe(
      '(u.created_at <= $1::timestamptz)',
    );
  });

  it('Should range over array elements with EXISTS for a value path', () => {
    const { sql } = user('emails[type eq "work" and value ew "@x.org"]');
    expect(sql).toMatch(
      /^EXISTS \(SELECT 1 FROM jsonb_array_elements\(.*u\.attrs->'emails'.*\) AS scim_e\d+\(v\) WHERE /,
    );
    expect(sql).toContain("->>'type'");
    expect(sql).toContain("->>'value'");
  });

  it('Should use group_members for members and groups', () => {
    const id = '0190d4c2-6c0e-7000-8000-000000000001';
    const g = filterToSQL(registry, 'Group', `members.value eq "${id}"`, { alias: 'g' });
    expect(g.sql).toMatch(
      /EXISTS \(SELECT 1 FROM group_members scim_gm\d+ WHERE scim_gm\d+\.group_id = g\.id/,
    );
    expect(g.sql).not.toContain('JOIN');
    const u = user(`groups[value eq "${id}"]`);
    expect(u.sql).toMatch(/group_members scim_gm\d+ WHERE scim_gm\d+\.user_id = u\.id/);
    expect(filterToSQL(registry, 'Group', 'displayName eq "N"', { alias: 'g' }).sql).toBe(
      '(lower(g.display_name) = lower($1::text))',
    );
  });

  it('Should answer exact equality in attrs by containment, which the GIN index serves', () => {
    expect(user(`${TEST_EXT}:badge eq "AbC"`)).toEqual({
      sql: '(u.attrs @> $1::jsonb)',
      params: [JSON.stringify({ [TEST_EXT]: { badge: 'AbC' } })],
    });
    expect(user('emails.primary eq true').params).toEqual([
      JSON.stringify({ emails: [{ primary: true }] }),
    ]);
  });

  it('Should wrap "not" in coalesce so absent attributes count as not matching', () => {
    expect(user('not (title eq "x")').sql).toBe(
      "(NOT coalesce((lower((u.attrs->>'title')) = lower($1::text)), false))",
    );
  });

  it.each([
    ['shoeSize eq "x"', /unknown attribute/],
    ['password eq "secret"', /write-only/],
    ['name eq "x"', /complex/],
    ['active gt true', /boolean/],
    ['active eq "yes"', /type boolean/],
    ['userName eq 42', /type string/],
    [`${TEST_EXT}:level eq "3"`, /type integer/],
    [`${TEST_EXT}:level co 3`, /cannot compare/],
    ['meta.lastModified gt "yesterday"', /dateTime/],
    ['meta.lastModified gt "2024-02-30T00:00:00Z"', /dateTime/],
    ['meta.created sw "2024"', /cannot compare/],
    ['userName gt null', /null/],
    ['meta.location eq "x"', /meta.location/],
    ['userName[value eq "x"]', /complex/],
    ['emails[nope eq "x"]', /unknown attribute/],
    ['urn:example:nope:userName eq "x"', /unknown attribute/],
  ])('Should refuse %j with invalidFilter', (filter, detail) => {
    expectSCIMError(() => user(filter), 'invalidFilter', detail);
  });
});

describe('filterToSQL: results on the database', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let tenant: string;
  const names = new Map<string, string>();
  const groups: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = database.db.pool;
    tenant = await insertTenant(pool, 'north');
    const other = await insertTenant(pool, 'south');
    const add = async (userName: string, row: Omit<UserRowInput, 'userName'>) => {
      const id = await insertUser(pool, tenant, { ...row, userName });
      names.set(id, userName);
      return id;
    };
    const alice = await add('Alice', {
      externalId: 'EXT-1',
      attrs: {
        name: { givenName: 'Alice', familyName: 'Archer' },
        title: 'Nurse',
        emails: [
          { value: 'alice@north.org', type: 'work', primary: true },
          { value: 'alice@home.net', type: 'home' },
        ],
        [ENTERPRISE]: { employeeNumber: '7', department: 'Cardio', manager: { value: 'boss-1' } },
        [TEST_EXT]: {
          level: 3,
          score: 4.5,
          hiredAt: '2020-05-01T08:00:00Z',
          onCall: true,
          badge: 'AbC',
          tags: ['red', 'blue'],
        },
      },
      createdAt: '2023-01-01T00:00:00Z',
      updatedAt: '2024-06-01T00:00:00Z',
    });
    const bob = await add('bob', {
      externalId: 'ext-1',
      status: 'inactive',
      attrs: {
        name: { familyName: 'Baker' },
        // A work address elsewhere and a north.org address that is not work: no single
        // element satisfies emails[type eq "work" and value ew "@north.org"].
        emails: [
          { value: 'bob@home.net', type: 'work' },
          { value: 'bob@north.org', type: 'home' },
        ],
        [TEST_EXT]: { level: 10, onCall: false, badge: 'abc' },
      },
      createdAt: '2023-06-01T00:00:00Z',
      updatedAt: '2024-01-01T00:00:00Z',
    });
    await add('carol_100%', {
      status: 'locked',
      attrs: { title: '', [TEST_EXT]: { hiredAt: '2021-01-01T00:00:00Z', tags: [] } },
      createdAt: '2024-02-01T00:00:00Z',
      updatedAt: '2024-02-02T12:30:00.250Z',
    });
    await insertUser(pool, tenant, {
      userName: 'dave',
      status: 'deleted',
      attrs: { title: 'Nurse' },
    });
    await insertUser(pool, other, { userName: 'Alice', attrs: { title: 'Nurse' } });
    groups['nurses'] = await insertGroup(pool, tenant, {
      displayName: 'Nurses',
      members: [alice, bob],
    });
    groups['night'] = await insertGroup(pool, tenant, {
      displayName: 'Night Shift',
      externalId: 'NS',
      members: [bob],
    });
    groups['empty'] = await insertGroup(pool, tenant, { displayName: 'Empty' });
    await insertGroup(pool, other, { displayName: 'Nurses', members: [] });
  });

  afterAll(async () => {
    await database.drop();
  });

  /** The userNames of the tenant's visible users the filter matches, sorted. */
  async function users(filter: string): Promise<string[]> {
    const f = filterToSQL(registry, 'User', filter, { alias: 'u', paramOffset: 1 });
    const { rows } = await pool.query<{ id: string }>(
      `select u.id from users u where u.tenant_id = $1 and u.status <> 'deleted' and ${f.sql}`,
      [tenant, ...f.params],
    );
    return rows.map((r) => names.get(r.id) ?? r.id).sort();
  }

  async function groupNames(filter: string): Promise<string[]> {
    const f = filterToSQL(registry, 'Group', filter, { alias: 'g', paramOffset: 1 });
    const { rows } = await pool.query<{ display_name: string }>(
      `select g.display_name from groups g where g.tenant_id = $1 and ${f.sql}`,
      [tenant, ...f.params],
    );
    return rows.map((r) => r.display_name).sort();
  }

  it('Should match every string operator', async () => {
    expect(await users('userName eq "alice"')).toEqual(['Alice']);
    expect(await users('userName ne "alice"')).toEqual(['bob', 'carol_100%']);
    expect(await users('userName co "O"')).toEqual(['bob', 'carol_100%']);
    expect(await users('userName sw "A"')).toEqual(['Alice']);
    expect(await users('userName ew "B"')).toEqual(['bob']);
    expect(await users('userName gt "B"')).toEqual(['bob', 'carol_100%']);
    expect(await users('userName ge "bob"')).toEqual(['bob', 'carol_100%']);
    expect(await users('userName lt "BOB"')).toEqual(['Alice']);
    expect(await users('userName le "bob"')).toEqual(['Alice', 'bob']);
    expect(await users('title pr')).toEqual(['Alice']);
  });

  it('Should read attribute names case-insensitively and compare by the caseExact rule', async () => {
    expect(await users('USERNAME eq "ALICE"')).toEqual(['Alice']);
    expect(await users('name.FAMILYNAME eq "archer"')).toEqual(['Alice']);
    expect(await users('externalId eq "EXT-1"')).toEqual(['Alice']);
    expect(await users('externalId eq "ext-1"')).toEqual(['bob']);
    expect(await users(`${TEST_EXT}:badge eq "abc"`)).toEqual(['bob']);
    expect(await users(`${TEST_EXT}:badge sw "a"`)).toEqual(['bob']);
    expect(await users('nickname pr')).toEqual([]);
  });

  it('Should take co/sw/ew values literally, wildcards included', async () => {
    expect(await users('userName co "%"')).toEqual(['carol_100%']);
    expect(await users('userName co "_"')).toEqual(['carol_100%']);
    expect(await users('userName sw "c_r"')).toEqual([]);
    expect(await users('userName ew "\\\\"')).toEqual([]);
  });

  it('Should filter on extension attributes by full URN', async () => {
    expect(await users(`${ENTERPRISE}:employeeNumber eq "7"`)).toEqual(['Alice']);
    expect(await users(`${ENTERPRISE.toUpperCase()}:DEPARTMENT eq "cardio"`)).toEqual(['Alice']);
    expect(await users(`${ENTERPRISE}:manager.value eq "BOSS-1"`)).toEqual(['Alice']);
    expect(await users(`${ENTERPRISE}:manager pr`)).toEqual(['Alice']);
  });

  it('Should require one element to satisfy a whole complex value filter', async () => {
    expect(await users('emails[type eq "work" and value ew "@north.org"]')).toEqual(['Alice']);
    expect(await users('emails[type eq "home" and value ew "@north.org"]')).toEqual(['bob']);
    expect(await users('emails[not (type eq "work")]')).toEqual(['Alice', 'bob']);
    expect(await users('emails[type eq "work" or primary eq true]')).toEqual(['Alice', 'bob']);
  });

  it('Should match a multi-valued attribute when any element matches', async () => {
    expect(await users('emails.value eq "BOB@north.org"')).toEqual(['bob']);
    expect(await users('emails co "home.net"')).toEqual(['Alice', 'bob']);
    expect(await users('emails.type eq "home"')).toEqual(['Alice', 'bob']);
    expect(await users('emails.primary eq true')).toEqual(['Alice']);
    expect(await users('emails pr')).toEqual(['Alice', 'bob']);
    expect(await users(`${TEST_EXT}:tags eq "BLUE"`)).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:tags pr`)).toEqual(['Alice']);
  });

  it('Should combine with and, or, not and parentheses', async () => {
    expect(await users('userName eq "alice" or userName eq "bob" and title pr')).toEqual(['Alice']);
    expect(await users('(userName eq "alice" or userName eq "bob") and title pr')).toEqual([
      'Alice',
    ]);
    expect(await users('not (userName eq "alice" and title pr)')).toEqual(['bob', 'carol_100%']);
    expect(await users('userName sw "a" and userName ew "e"')).toEqual(['Alice']);
    expect(await users('not (not (title pr))')).toEqual(['Alice']);
  });

  it('Should count absent attributes as not equal', async () => {
    expect(await users('title ne "Nurse"')).toEqual(['bob', 'carol_100%']);
    expect(await users('not (title eq "Nurse")')).toEqual(['bob', 'carol_100%']);
    expect(await users('not (title pr)')).toEqual(['bob', 'carol_100%']);
    expect(await users('title eq null')).toEqual(['bob', 'carol_100%']);
    expect(await users('title ne null')).toEqual(['Alice']);
  });

  it('Should compare booleans as booleans', async () => {
    expect(await users('active eq true')).toEqual(['Alice']);
    expect(await users('active eq false')).toEqual(['bob', 'carol_100%']);
    expect(await users('active ne true')).toEqual(['bob', 'carol_100%']);
    expect(await users('active eq "True"')).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:onCall eq false`)).toEqual(['bob']);
    expect(await users(`${TEST_EXT}:onCall ne true`)).toEqual(['bob', 'carol_100%']);
  });

  it('Should compare numbers as numbers, not as text', async () => {
    expect(await users(`${TEST_EXT}:level gt 5`)).toEqual(['bob']);
    expect(await users(`${TEST_EXT}:level lt 5`)).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:level eq 3.0`)).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:level eq 3`)).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:score ge 4.5`)).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:score le 1e1`)).toEqual(['Alice']);
  });

  it('Should compare dates as instants, whatever their zone', async () => {
    expect(await users('meta.lastModified gt "2024-01-01T00:00:00Z"')).toEqual([
      'Alice',
      'carol_100%',
    ]);
    expect(await users('meta.lastModified ge "2024-01-01T00:00:00Z"')).toEqual([
      'Alice',
      'bob',
      'carol_100%',
    ]);
    expect(await users('meta.lastModified lt "2024-01-01T03:00:00+02:00"')).toEqual(['bob']);
    expect(await users('meta.lastModified eq "2024-02-02T12:30:00.250Z"')).toEqual(['carol_100%']);
    expect(await users('meta.created lt "2023-06-01T00:00:00"')).toEqual(['Alice']);
    expect(await users(`${TEST_EXT}:hiredAt gt "2020-12-31T23:00:00-00:30"`)).toEqual([
      'carol_100%',
    ]);
    expect(await users('meta.resourceType eq "User"')).toEqual(['Alice', 'bob', 'carol_100%']);
  });

  it('Should filter users by their groups and groups by their members', async () => {
    expect(await users(`groups.value eq "${groups['night']}"`)).toEqual(['bob']);
    expect(await users(`groups[value eq "${groups['nurses']}"]`)).toEqual(['Alice', 'bob']);
    expect(await users('groups[display sw "night"]')).toEqual(['bob']);
    expect(await users('groups pr')).toEqual(['Alice', 'bob']);
    const alice = [...names].find(([, n]) => n === 'Alice')?.[0];
    expect(await groupNames(`members.value eq "${alice}"`)).toEqual(['Nurses']);
    expect(await groupNames(`members[value eq "${alice}"]`)).toEqual(['Nurses']);
    expect(await groupNames('members[display eq "BOB"]')).toEqual(['Night Shift', 'Nurses']);
    expect(await groupNames('not (members pr)')).toEqual(['Empty']);
    expect(await groupNames('displayName eq "nurses"')).toEqual(['Nurses']);
    expect(await groupNames('externalId eq "NS" and displayName sw "NIGHT"')).toEqual([
      'Night Shift',
    ]);
    expect(await groupNames(`members.value eq "not-a-uuid"`)).toEqual([]);
  });

  it('Should treat injection attempts as plain values and change nothing', async () => {
    const before = await pool.query('select count(*) as n from users');
    expect(await users('userName eq "x\\" or 1=1 --"')).toEqual([]);
    expect(await users('userName eq "x\'); drop table users; --"')).toEqual([]);
    expect(await users("userName co \"' or '1'='1\"")).toEqual([]);
    expect(await users(`${ENTERPRISE}:employeeNumber eq "7' or '1'='1"`)).toEqual([]);
    const after = await pool.query('select count(*) as n from users');
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expectSCIMError(
      () => filterToSQL(registry, 'User', 'userName) or (1=1 eq "x"', { alias: 'u' }),
      'invalidFilter',
    );
    expectSCIMError(
      () => filterToSQL(registry, 'User', 'userName\'||\'x eq "x"', { alias: 'u' }),
      'invalidFilter',
    );
  });

  it('Should refuse an unknown attribute before touching the database', () => {
    expectSCIMError(
      () => filterToSQL(registry, 'User', 'shoeSize gt 40', { alias: 'u' }),
      'invalidFilter',
      /shoeSize/,
    );
    expectSCIMError(
      () => filterToSQL(registry, 'Group', 'userName eq "x"', { alias: 'g' }),
      'invalidFilter',
    );
  });
});
