import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupBodyWithMembers } from '../../src/scim/group-members-json.ts';
import { compileProjection } from '../../src/scim/projection.ts';
import { groupToSCIM } from '../../src/scim/representation.ts';
import { createTestApp, SCIM_BASE, type TestApp } from '../helpers/test-app.ts';
import { CARE_GROUP, rulesClient, USER } from '../rules/data/rules-client.ts';

// A group's members are written as JSON text by PostgreSQL (src/scim/group-members-json.ts).
// Each answer must equal what rendering the members as objects gives, for every projection.
let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
let groupId: string;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
  const names = ['ann "the nurse"', 'bö örn', 'carl\\back', 'dana'];
  const ids: string[] = [];
  for (const [i, name] of names.entries()) {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: [USER],
        userName: `member.${i}`,
        displayName: name,
        title: i % 2 === 0 ? 'Nurse' : 'Carer',
      },
    });
    ids.push((await res.json()).id);
  }
  // Two members by hand, two by the rule, one of them both ways.
  const group = await scim.createGroup('Mixed', { rule: 'title eq "Nurse"' }, [
    ids[1] as string,
    ids[2] as string,
  ]);
  groupId = group.id;
});
afterAll(async () => {
  await t.close();
});

async function theGroup() {
  return t.services.directory.groups.get(
    (await t.services.directory.tenants.findByName('default'))?.id as string,
    groupId,
  );
}

function projectionOf(query: string) {
  const params = new URLSearchParams(query);
  return compileProjection(
    t.services.registry,
    'Group',
    params.get('attributes') ?? undefined,
    params.get('excludedAttributes') ?? undefined,
  );
}

async function rendered(query: string) {
  const group = await theGroup();
  const projection = projectionOf(query);
  // memberSources comes with members: `excludedAttributes=members` reads no member at all.
  const members = projection.needsMembers
    ? (await t.services.directory.groups.membersOf(group.tenantId, [group.id])).get(group.id)
    : undefined;
  return projection.apply(groupToSCIM(group, SCIM_BASE, members));
}

describe('Group members as JSON text', () => {
  for (const query of [
    '',
    'attributes=members',
    'attributes=displayName,members',
    'excludedAttributes=meta',
    `attributes=${CARE_GROUP}:memberSources`,
    'attributes=members.value',
    'excludedAttributes=members.display',
  ]) {
    it(`Should answer GET /Groups/:id?${query} as the members rendered as objects would`, async () => {
      const res = await t.request('GET', `/scim/v2/Groups/${groupId}?${query}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(await rendered(query));
    });
  }

  it('Should stream a group larger than a chunk, chunk by chunk, as the same JSON', async () => {
    const group = await theGroup();
    for (const query of ['', 'attributes=members', 'excludedAttributes=meta']) {
      for (const perChunk of [1, 2]) {
        const body = await groupBodyWithMembers(
          t.services.db.pool,
          group,
          SCIM_BASE,
          projectionOf(query),
          perChunk,
        );
        expect(body).toBeInstanceOf(ReadableStream);
        const text = await new Response(body as ReadableStream).text();
        expect(JSON.parse(text), `${query} by ${perChunk}`).toEqual(await rendered(query));
      }
    }
    // The connection went back to the pool: the snapshot ended with the stream.
    expect((await t.services.db.pool.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('Should list each member once with its sources, ordered by id, display names escaped', async () => {
    const body = await (await t.request('GET', `/scim/v2/Groups/${groupId}`)).json();
    expect(body.members.map((m: { display: string }) => m.display).sort()).toEqual([
      'ann "the nurse"',
      'bö örn',
      'carl\\back',
    ]);
    const sources = Object.fromEntries(
      body[CARE_GROUP].memberSources.map((m: { value: string; sources: string[] }) => [
        body.members.find((x: { value: string }) => x.value === m.value).display,
        m.sources,
      ]),
    );
    expect(sources).toEqual({
      'ann "the nurse"': ['rule'],
      'bö örn': ['manual'],
      'carl\\back': ['manual', 'rule'],
    });
    const ids = body.members.map((m: { value: string }) => m.value);
    expect(ids).toEqual([...ids].sort());
  });
});
