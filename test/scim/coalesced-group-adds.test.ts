import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyAddsMembersRequest } from '../../src/scim/patch/member-changes.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { PATCH, rulesClient } from '../rules/data/rules-client.ts';

// Okta and Entra push a big group 100 members per PATCH, many PATCHes at once: those that
// only add members and arrive while one is on its way go together
// (src/directory/group-member-adds.ts). Each must still get the answer, error, version and
// audit event it would get alone.
let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

const patchGroup = (
  id: string,
  operations: unknown[],
  headers: Record<string, string> = {},
  query = '',
) =>
  t.request('PATCH', `/scim/v2/Groups/${id}${query}`, {
    body: { schemas: [PATCH], Operations: operations },
    headers,
  });
const add = (ids: string[]) => [
  { op: 'add', path: 'members', value: ids.map((value) => ({ value })) },
];

async function groupEvents(groupId: string) {
  const { rows } = await t.services.db.pool.query<{
    request_id: string | null;
    at: Date;
    after: { membersAdded?: string[]; membersRemoved?: string[]; displayName?: string };
  }>(
    `select request_id, at, after from audit_events
     where type = 'group.updated' and subject_id = $1 order by id`,
    [groupId],
  );
  return rows;
}

async function changeVersions(groupId: string): Promise<number[]> {
  const { rows } = await t.services.db.pool.query<{ version: number }>(
    `select version from change_events where resource_type = 'Group' and resource_id = $1
     and operation = 'updated' order by version`,
    [groupId],
  );
  return rows.map((r) => r.version);
}

describe('Concurrent member additions', () => {
  it('Should apply 30 concurrent PATCHes adding members to one group, each with its own version and audit event', async () => {
    const users = await Promise.all(
      Array.from({ length: 90 }, (_, i) => scim.createUser(`pushed.${i}`)),
    );
    const group = await scim.createGroup('Pushed ward');
    const slice = (k: number) => users.slice(k * 3, k * 3 + 3);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, k) =>
        patchGroup(group.id, add(slice(k)), { 'x-request-id': `push-${k}` }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(204));
    // As if sent one after the other: versions 2 to 31, each once.
    const etags = responses.map((r) => r.headers.get('etag'));
    expect(new Set(etags).size).toBe(30);
    expect([...etags].sort()).toEqual(Array.from({ length: 30 }, (_, k) => `W/"${k + 2}"`).sort());
    expect(await scim.memberIds(group.id)).toEqual([...users].sort());
    const read = await scim.group(group.id);
    expect(read.meta.version).toBe('W/"31"');
    expect(await changeVersions(group.id)).toEqual(Array.from({ length: 30 }, (_, k) => k + 2));
    const events = await groupEvents(group.id);
    expect(events).toHaveLength(30);
    const byRequest = new Map(events.map((e) => [e.request_id, e.after]));
    for (let k = 0; k < 30; k++) {
      const after = byRequest.get(`push-${k}`);
      expect(after?.membersRemoved).toEqual([]);
      expect([...(after?.membersAdded ?? [])].sort()).toEqual([...slice(k)].sort());
    }
    // Written by the token that sent them, as the group's creation was.
    const { rows: actors } = await t.services.db.pool.query(
      `select distinct actor_type, actor_id from audit_events
       where subject_id = $1 and type in ('group.created', 'group.updated')`,
      [group.id],
    );
    expect(actors).toHaveLength(1);
    expect(actors[0]?.actor_id).toEqual(expect.any(String));
    // The crowd really went in batches (now() is the transaction's start): this test would
    // pass one request at a time too.
    const transactions = new Set(events.map((e) => e.at.getTime()));
    expect(transactions.size).toBeLessThan(30);
  });

  it('Should apply concurrent PATCHes adding members to eight groups at once, none lost and each group versioned once per PATCH', async () => {
    const users = await Promise.all(
      Array.from({ length: 96 }, (_, i) => scim.createUser(`spread.${i}`)),
    );
    const groups = await Promise.all(
      Array.from({ length: 8 }, (_, g) => scim.createGroup(`Spread ward ${g}`)),
    );
    // 32 PATCHes of 3 members, four per group, all at once (batches of different groups
    // may be on their way side by side).
    const slice = (k: number) => users.slice(k * 3, k * 3 + 3);
    const groupOf = (k: number) => groups[k % groups.length] as { id: string };
    const responses = await Promise.all(
      Array.from({ length: 32 }, (_, k) => patchGroup(groupOf(k).id, add(slice(k)))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(32).fill(204));
    for (const [g, group] of groups.entries()) {
      const mine = Array.from({ length: 4 }, (_, j) => slice(g + j * groups.length)).flat();
      expect(await scim.memberIds(group.id)).toEqual([...mine].sort());
      expect((await scim.group(group.id)).meta.version).toBe('W/"5"');
      expect(await changeVersions(group.id)).toEqual([2, 3, 4, 5]);
      expect(await groupEvents(group.id)).toHaveLength(4);
    }
  });

  it('Should refuse a crowd member naming a stranger as a whole, and apply the others', async () => {
    const users = await Promise.all(
      Array.from({ length: 12 }, (_, i) => scim.createUser(`crowd.member.${i}`)),
    );
    const ward = await scim.createGroup('Crowd ward');
    const night = await scim.createGroup('Crowd night');
    const stranger = '0193e3a0-0000-7000-8000-000000000000';
    const sent = [
      patchGroup(ward.id, add([users[0], users[1]] as string[])),
      // One unknown id refuses the whole PATCH: its known member is not added either.
      patchGroup(ward.id, add([users[2] as string, stranger])),
      patchGroup(night.id, add([users[3], users[4]] as string[])),
      patchGroup(ward.id, add(['not-a-uuid'])),
      // The same user asked for twice at once is added once, for one of the two.
      patchGroup(night.id, add([users[5] as string])),
      patchGroup(night.id, add([users[5], users[6]] as string[])),
      patchGroup(ward.id, add([users[7] as string])),
    ];
    const responses = await Promise.all(sent);
    expect(responses.map((r) => r.status)).toEqual([204, 400, 204, 400, 204, 204, 204]);
    for (const i of [1, 3]) {
      const body = await (responses[i] as Response).json();
      expect(body.scimType).toBe('invalidValue');
      expect(body.detail).toMatch(/no such users/);
    }
    expect(await scim.memberIds(ward.id)).toEqual(
      [users[0], users[1], users[7]].map(String).sort(),
    );
    expect(await scim.memberIds(night.id)).toEqual(
      [users[3], users[4], users[5], users[6]].map(String).sort(),
    );
    const nightAdds = (await groupEvents(night.id)).flatMap((e) => e.after.membersAdded ?? []);
    expect(nightAdds.filter((id) => id === users[5])).toHaveLength(1);
    expect((await scim.group(ward.id)).meta.version).toBe('W/"3"');
    expect(await changeVersions(ward.id)).toEqual([2, 3]);
  });

  it('Should answer a PATCH adding only members already there unchanged, with no audit event', async () => {
    const users = await Promise.all([scim.createUser('already.0'), scim.createUser('already.1')]);
    const group = await scim.createGroup('Already there', {}, users);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => patchGroup(group.id, add(users), {}, '?attributes=meta')),
    );
    for (const res of responses) {
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.meta.version).toBe('W/"1"');
      expect(body.meta.lastModified).toBe(body.meta.created);
    }
    expect(await groupEvents(group.id)).toHaveLength(0);
    expect(await changeVersions(group.id)).toEqual([]);
  });

  it('Should apply removals, renames and system groups beside a crowd of additions as alone', async () => {
    const users = await Promise.all(
      Array.from({ length: 10 }, (_, i) => scim.createUser(`mixed.${i}`)),
    );
    const group = await scim.createGroup('Mixed ward', {}, [users[0], users[1]] as string[]);
    const allUsers = (
      await (
        await t.request(
          'GET',
          `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "All Users"')}`,
        )
      ).json()
    ).Resources[0];
    const responses = await Promise.all([
      patchGroup(group.id, add([users[2] as string])),
      patchGroup(group.id, [{ op: 'remove', path: `members[value eq "${users[0]}"]` }]),
      patchGroup(group.id, add([users[3] as string])),
      patchGroup(group.id, [
        { op: 'replace', path: 'displayName', value: 'Mixed ward (north)' },
        ...add([users[4] as string]),
      ]),
      patchGroup(group.id, add([users[5] as string])),
      patchGroup(allUsers.id, add([users[6] as string])),
    ]);
    expect(responses.map((r) => r.status)).toEqual([204, 204, 204, 204, 204, 400]);
    expect((await (responses[5] as Response).json()).scimType).toBe('mutability');
    const read = await scim.group(group.id);
    expect(read.displayName).toBe('Mixed ward (north)');
    expect(read.members.map((m: { value: string }) => m.value).sort()).toEqual(
      [users[1], users[2], users[3], users[4], users[5]].map(String).sort(),
    );
    // Six writes in all (the create and five PATCHes), whatever went together.
    expect(read.meta.version).toBe('W/"6"');
    expect(await changeVersions(group.id)).toEqual([2, 3, 4, 5, 6]);
  });

  it('Should leave no membership of a group deleted while PATCHes add members to it', async () => {
    const users = await Promise.all(
      Array.from({ length: 20 }, (_, i) => scim.createUser(`doomed.${i}`)),
    );
    const group = await scim.createGroup('Doomed ward', {}, [users[0] as string]);
    const sent = users.slice(1).map((u) => patchGroup(group.id, add([u])));
    sent.splice(8, 0, t.request('DELETE', `/scim/v2/Groups/${group.id}`));
    const statuses = (await Promise.all(sent)).map((r) => r.status);
    // Each PATCH came before the delete (204) or after it (404); the delete itself 204.
    expect(statuses.every((s) => s === 204 || s === 404)).toBe(true);
    expect((await t.request('GET', `/scim/v2/Groups/${group.id}`)).status).toBe(404);
    // Memberships have no key to their group (migrations/0006): none may outlive it.
    const { rows } = await t.services.db.pool.query<{ n: number }>(
      `select count(*)::int as n from group_members gm
       where not exists (select 1 from groups g where g.id = gm.group_id)`,
    );
    expect(rows[0]?.n).toBe(0);
    for (const u of users) expect(await scim.groupNames(u)).toEqual(['All Users']);
  });

  it('Should answer 404 to additions to a group that does not exist, alone and in a crowd', async () => {
    const user = await scim.createUser('nowhere.0');
    const group = await scim.createGroup('Somewhere');
    const nowhere = '0193e3a0-0000-7000-8000-0000000000bb';
    const alone = await patchGroup(nowhere, add([user]));
    expect(alone.status).toBe(404);
    const crowd = await Promise.all([
      patchGroup(group.id, add([user])),
      patchGroup(nowhere, add([user])),
      patchGroup(nowhere, add([user])),
    ]);
    expect(crowd.map((r) => r.status)).toEqual([204, 404, 404]);
    expect(await scim.memberIds(group.id)).toEqual([user]);
  });

  it('Should tell PATCHes that only add members from the others by their operations', () => {
    const patch = (Operations: unknown[]) => ({ schemas: [PATCH], Operations });
    const members = [{ value: '0193e3a0-0000-7000-8000-0000000000cc' }];
    expect(onlyAddsMembersRequest(patch([{ op: 'Add', path: 'Members', value: members }]))).toBe(
      true,
    );
    expect(
      onlyAddsMembersRequest(
        patch([
          { op: 'add', path: 'members', value: members },
          { op: 'add', path: 'members', value: members },
        ]),
      ),
    ).toBe(true);
    for (const operations of [
      [{ op: 'remove', path: 'members' }],
      [{ op: 'replace', path: 'members', value: members }],
      [{ op: 'add', value: { members } }],
      [{ op: 'add', path: 'members[value eq "x"]', value: members }],
      [
        { op: 'add', path: 'members', value: members },
        { op: 'replace', path: 'displayName', value: 'Renamed' },
      ],
    ]) {
      expect(onlyAddsMembersRequest(patch(operations))).toBe(false);
    }
    expect(onlyAddsMembersRequest({ Operations: [{ op: 'add', path: 'members' }] })).toBe(false);
    expect(onlyAddsMembersRequest('not a body')).toBe(false);
  });
});
