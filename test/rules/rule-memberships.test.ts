import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import {
  BULK,
  CARE_GROUP,
  ENTERPRISE,
  GROUP,
  PATCH,
  rulesClient,
  sorted,
  USER,
} from './data/rules-client.ts';

let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

describe('A group rule', () => {
  it('Should make every matching active user a rule member when the group is created', async () => {
    const anna = await scim.createUser('anna@north.example', { title: 'Nurse', locale: 'sv-SE' });
    const bo = await scim.createUser('bo@north.example', { title: 'Nurse', locale: 'en-GB' });
    await scim.createUser('cia@north.example', { title: 'Doctor', locale: 'sv-SE' });
    const gone = await scim.createUser('dan@north.example', {
      title: 'Nurse',
      locale: 'sv-FI',
      active: false,
    });
    const group = await scim.createGroup('Nurses who speak Swedish', {
      rule: 'title eq "nurse" and locale sw "sv"',
    });
    expect(group[CARE_GROUP]).toMatchObject({ rule: 'title eq "nurse" and locale sw "sv"' });
    expect(await scim.memberIds(group.id)).toEqual([anna]);
    expect(await scim.sources(group.id)).toEqual({ [anna]: ['rule'] });
    expect(await scim.memberIds(group.id)).not.toContain(bo);
    expect(await scim.memberIds(group.id)).not.toContain(gone);
  });

  it('Should follow each user write: SCIM POST, PUT and PATCH', async () => {
    const group = await scim.createGroup('Care department', {
      rule: `${ENTERPRISE}:department eq "Care"`,
    });
    // POST: a new user who matches joins at once.
    const eva = await scim.createUser('eva@north.example', {
      [ENTERPRISE]: { department: 'Care' },
    });
    expect(await scim.memberIds(group.id)).toEqual([eva]);
    expect(await scim.groupNames(eva)).toEqual(['All Users', 'Care department']);

    // PATCH: moving department leaves the group in the same write.
    const res = await scim.patchUser(eva, [
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Kitchen' },
    ]);
    expect(res.status).toBe(200);
    expect((await res.json()).groups.map((g: { display: string }) => g.display)).toEqual([
      'All Users',
    ]);
    expect(await scim.memberIds(group.id)).toEqual([]);

    // PUT: replacing the user with the department again brings it back.
    const put = await t.request('PUT', `/scim/v2/Users/${eva}`, {
      body: {
        schemas: [USER, ENTERPRISE],
        userName: 'eva@north.example',
        [ENTERPRISE]: { department: 'care' },
      },
    });
    expect(put.status).toBe(200);
    expect(await scim.memberIds(group.id)).toEqual([eva]);
  });

  it('Should follow a user changing its own account through /Me', async () => {
    const group = await scim.createGroup('Swedish speakers', { rule: 'preferredLanguage sw "sv"' });
    const me = await scim.createUser('me.speaker', { preferredLanguage: 'en' });
    const token = await t.token({ scopes: ['scim:me'], userId: me });
    const res = await t.request('PATCH', '/scim/v2/Me', {
      token,
      body: {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'preferredLanguage', value: 'sv-SE' }],
      },
    });
    expect(res.status).toBe(200);
    expect(await scim.memberIds(group.id)).toEqual([me]);
  });

  it('Should follow users written through /Bulk', async () => {
    const group = await scim.createGroup('Bulk nurses', { rule: 'nickName eq "bulk-nurse"' });
    const res = await t.request('POST', '/scim/v2/Bulk', {
      body: {
        schemas: [BULK],
        Operations: [
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'a',
            data: { schemas: [USER], userName: 'bulk.a', nickName: 'bulk-nurse' },
          },
          {
            method: 'POST',
            path: '/Users',
            bulkId: 'b',
            data: { schemas: [USER], userName: 'bulk.b', nickName: 'other' },
          },
          {
            method: 'PATCH',
            path: '/Users/bulkId:b',
            data: {
              schemas: [PATCH],
              Operations: [{ op: 'replace', path: 'nickName', value: 'bulk-nurse' }],
            },
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    const ops = (await res.json()).Operations as { status: string; location: string }[];
    expect(ops.map((o) => o.status)).toEqual(['201', '201', '200']);
    const ids = ops.slice(0, 2).map((o) => o.location.split('/').at(-1));
    expect(await scim.memberIds(group.id)).toEqual(sorted(ids));
  });

  it('Should match complex and multi-valued attributes, as GET /Users?filter does', async () => {
    const north = await scim.createUser('north.worker', {
      emails: [{ value: 'worker@north.example', type: 'work', primary: true }],
      addresses: [{ type: 'work', locality: 'Umeå' }],
    });
    await scim.createUser('south.worker', {
      emails: [{ value: 'worker@south.example', type: 'work' }],
    });
    const group = await scim.createGroup('North site', {
      rule: 'emails[type eq "work" and value ew "@north.example"] or addresses.locality eq "umeå"',
    });
    expect(await scim.memberIds(group.id)).toEqual([north]);
    const listed = await (
      await t.request(
        'GET',
        `/scim/v2/Users?filter=${encodeURIComponent('emails[type eq "work" and value ew "@north.example"] or addresses.locality eq "umeå"')}`,
      )
    ).json();
    expect(listed.Resources.map((r: { id: string }) => r.id)).toEqual([north]);
  });

  it('Should refuse an invalid rule with invalidFilter and leave the group unchanged', async () => {
    const group = await scim.createGroup('Night staff', { rule: 'title eq "Night nurse"' });
    const before = await scim.group(group.id);
    for (const rule of [
      'title eq',
      'noSuchAttribute eq "x"',
      'password eq "secret"',
      'groups.value eq "x"',
      '   ',
    ]) {
      const res = await scim.patchGroup(group.id, [
        { op: 'replace', path: `${CARE_GROUP}:rule`, value: rule },
      ]);
      expect(res.status, rule).toBe(400);
      expect((await res.json()).scimType, rule).toBe('invalidFilter');
    }
    const post = await t.request('POST', '/scim/v2/Groups', {
      body: { schemas: [GROUP, CARE_GROUP], displayName: 'Broken', [CARE_GROUP]: { rule: '(' } },
    });
    expect(post.status).toBe(400);
    expect((await post.json()).scimType).toBe('invalidFilter');
    const after = await scim.group(group.id);
    expect(after.meta.version).toBe(before.meta.version);
    expect(after[CARE_GROUP].rule).toBe('title eq "Night nurse"');
    const list = await (
      await t.request(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "Broken"')}`,
      )
    ).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should re-evaluate the whole tenant when the rule changes, keeping manual members', async () => {
    const ann = await scim.createUser('ann.rule', { title: 'Cook' });
    const ben = await scim.createUser('ben.rule', { title: 'Driver' });
    const cid = await scim.createUser('cid.rule', { title: 'Cleaner' });
    const group = await scim.createGroup('Changing', { rule: 'title eq "Cook"' }, [cid]);
    expect(await scim.sources(group.id)).toEqual({ [ann]: ['rule'], [cid]: ['manual'] });

    const res = await scim.patchGroup(group.id, [
      { op: 'replace', path: `${CARE_GROUP}:rule`, value: 'title eq "Driver"' },
    ]);
    expect(res.status).toBe(204);
    expect(await scim.sources(group.id)).toEqual({ [ben]: ['rule'], [cid]: ['manual'] });

    // Removing the rule ends rule memberships only.
    const removed = await scim.patchGroup(group.id, [{ op: 'remove', path: `${CARE_GROUP}:rule` }]);
    expect(removed.status).toBe(204);
    expect((await scim.group(group.id))[CARE_GROUP]?.rule).toBeUndefined();
    expect(await scim.memberIds(group.id)).toEqual([cid]);
  });

  it('Should keep a user who is both a manual and a rule member when the rule stops matching', async () => {
    const both = await scim.createUser('both.member', { title: 'Porter' });
    const group = await scim.createGroup('Porters', { rule: 'title eq "Porter"' }, [both]);
    expect(await scim.sources(group.id)).toEqual({ [both]: ['manual', 'rule'] });
    await scim.patchUser(both, [{ op: 'replace', path: 'title', value: 'Chef' }]);
    expect(await scim.sources(group.id)).toEqual({ [both]: ['manual'] });
  });

  it('Should refuse to remove a rule member by hand with mutability, changing nothing', async () => {
    const ruled = await scim.createUser('ruled.member', { title: 'Guard' });
    const manual = await scim.createUser('manual.member');
    const group = await scim.createGroup('Guards', { rule: 'title eq "Guard"' }, [manual]);
    const before = await scim.group(group.id);
    for (const op of [
      { op: 'remove', path: `members[value eq "${ruled}"]` },
      { op: 'remove', path: 'members', value: [{ value: ruled }, { value: manual }] },
    ]) {
      const res = await scim.patchGroup(group.id, [op]);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.scimType).toBe('mutability');
      expect(body.detail).toContain('by its rule');
    }
    const after = await scim.group(group.id);
    expect(after.meta.version).toBe(before.meta.version);
    expect(await scim.memberIds(group.id)).toEqual(sorted([ruled, manual]));

    // Replacing all members replaces the manual ones; the rule member stays.
    const replaced = await scim.patchGroup(group.id, [
      { op: 'replace', path: 'members', value: [] },
    ]);
    expect(replaced.status).toBe(204);
    expect(await scim.sources(group.id)).toEqual({ [ruled]: ['rule'] });
  });

  it('Should not turn rule members into manual ones when a group read is sent back as a PUT', async () => {
    const ruled = await scim.createUser('put.ruled', { title: 'Roundtrip porter' });
    const manual = await scim.createUser('put.manual');
    const group = await scim.createGroup('PUT roundtrip', { rule: 'title eq "Roundtrip porter"' }, [
      manual,
    ]);
    const read = await scim.group(group.id);
    const put = await t.request('PUT', `/scim/v2/Groups/${group.id}`, {
      body: { schemas: read.schemas, displayName: 'PUT roundtrip', members: read.members },
    });
    expect(put.status).toBe(200);
    expect(await scim.sources(group.id)).toEqual({ [ruled]: ['rule'], [manual]: ['manual'] });
    // A PUT without the extension keeps the rule (a client unaware of it cannot wipe it).
    expect((await scim.group(group.id))[CARE_GROUP].rule).toBe('title eq "Roundtrip porter"');
  });

  it('Should bump a group version only when its membership really changes', async () => {
    const group = await scim.createGroup('Stable', { rule: 'title eq "Stable"' });
    const user = await scim.createUser('stable.one', { title: 'Stable' });
    const v1 = (await scim.group(group.id)).meta.version;
    await scim.patchUser(user, [{ op: 'replace', path: 'displayName', value: 'Still stable' }]);
    expect((await scim.group(group.id)).meta.version).toBe(v1);
    await scim.patchUser(user, [{ op: 'replace', path: 'title', value: 'Moved' }]);
    expect((await scim.group(group.id)).meta.version).not.toBe(v1);
  });

  it('Should record what a user write did to memberships in its audit event', async () => {
    const group = await scim.createGroup('Audited rule', { rule: 'title eq "Audited"' });
    const user = await scim.createUser('audited.rule', { title: 'Audited' });
    const { rows } = await t.database.db.pool.query(
      `select type, after from audit_events where subject_id = $1 order by id`,
      [user],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].type).toBe('user.created');
    expect(rows[0].after.membershipsAdded).toEqual(
      expect.arrayContaining([{ group: group.id, source: 'rule' }]),
    );
  });

  it('Should not let one tenant rule over another tenant users', async () => {
    const other = rulesClient(t, await t.token({ tenant: 'other-care' }));
    const theirs = await other.createUser('theirs@other.example', { title: 'Isolated' });
    const ours = await scim.createUser('ours@north.example', { title: 'Isolated' });
    const group = await scim.createGroup('Isolated', { rule: 'title eq "Isolated"' });
    expect(await scim.memberIds(group.id)).toEqual([ours]);
    expect(await other.groupNames(theirs)).toEqual(['All Users']);
  });
});
