import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { rulesClient, USER } from '../rules/data/rules-client.ts';

// Many POSTs at once, as Okta and Entra provision an organisation: the directory sends
// those that arrive while a create is in flight together (src/directory/write-coalescer.ts).
// Each must still get exactly the answer, error and audit event it would get alone.
let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
const SITE = 'urn:ietf:params:scim:schemas:carebridge:2.0:Site';
const STAFF = 'urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember';

const post = (userName: string, requestId: string, extra: Record<string, unknown> = {}) =>
  t.request('POST', '/scim/v2/Users', {
    body: { schemas: [USER], userName, ...extra },
    headers: { 'x-request-id': requestId },
  });

describe('Concurrent creates', () => {
  it('Should answer each of 40 concurrent POSTs with its own account, groups and audit event', async () => {
    const nurses = await scim.createGroup('Coalesced nurses', { rule: 'title eq "Nurse"' });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(`wave.${i}`, `req-wave-${i}`, {
          title: i % 2 === 0 ? 'Nurse' : 'Carer',
          emails: [{ value: `wave.${i}@care.example`, primary: true }],
        }),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    for (const [i, res] of responses.entries()) {
      const body = bodies[i];
      expect(res.status, JSON.stringify(body)).toBe(201);
      expect(body).toMatchObject({
        userName: `wave.${i}`,
        emails: [{ value: `wave.${i}@care.example`, primary: true }],
        meta: { resourceType: 'User', version: expect.any(String) },
      });
      expect(res.headers.get('location')).toBe(body.meta.location);
      const groups = (body.groups ?? []).map((g: { display: string }) => g.display).sort();
      expect(groups).toEqual(i % 2 === 0 ? ['All Users', 'Coalesced nurses'] : ['All Users']);
      // The answer is what a later read returns.
      const read = await (await t.request('GET', `/scim/v2/Users/${body.id}`)).json();
      expect(read).toEqual(body);
    }
    const ids = bodies.map((b) => b.id);
    const { rows } = await t.services.db.pool.query<{
      subject_id: string;
      request_id: string;
      after: Record<string, unknown>;
    }>(
      `select subject_id, request_id, after from audit_events where type = 'user.created' and subject_id = any($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(40);
    const eventOf = new Map(rows.map((r) => [r.subject_id, r]));
    for (const [i, id] of ids.entries()) {
      expect(eventOf.get(id)?.request_id).toBe(`req-wave-${i}`);
      // The event records the account as created, with the rule groups it joined.
      expect(eventOf.get(id)?.after).toMatchObject({
        userName: `wave.${i}`,
        externalId: null,
        status: 'active',
        attrs: {
          title: i % 2 === 0 ? 'Nurse' : 'Carer',
          emails: [{ value: `wave.${i}@care.example`, primary: true }],
        },
      });
      const joined = (eventOf.get(id)?.after['membershipsAdded'] ?? []) as { group: string }[];
      expect(joined.some((m) => m.group === nurses.id)).toBe(i % 2 === 0);
    }
    const members = await scim.group(nurses.id);
    expect(members.members).toHaveLength(20);
  });

  it('Should give each conflicting or invalid POST of a crowd its own error, and create the rest', async () => {
    expect((await post('already.here', 'req-first')).status).toBe(201);
    const names = [
      'crowd.ok.1',
      'ALREADY.HERE',
      'crowd.twice',
      'crowd.ok.2',
      'crowd.twice',
      'crowd.ok.3',
    ];
    const sent = names.map((n, i) => post(n, `req-crowd-${i}`));
    // Refused by the care directory inside the batch (a staff member that does not exist).
    const invalid = post('crowd.bad', 'req-bad', {
      schemas: [USER, CARE],
      [CARE]: { staffMembers: [{ value: '01a23458-0000-7000-8000-000000000000' }] },
    });
    const responses = await Promise.all(sent);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses[1]).toBe(409);
    expect((await (responses[1] as Response).json()).scimType).toBe('uniqueness');
    // Of two POSTs with one userName, exactly one wins.
    expect([statuses[2], statuses[4]].sort()).toEqual([201, 409]);
    const refused = await invalid;
    expect(refused.status).toBe(400);
    expect((await refused.json()).detail).toContain('there is no staff member');
    const list = await (
      await t.request('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName sw "crowd."')}`)
    ).json();
    expect(list.Resources.map((u: { userName: string }) => u.userName).sort()).toEqual([
      'crowd.ok.1',
      'crowd.ok.2',
      'crowd.ok.3',
      'crowd.twice',
    ]);
    // A refused POST leaves no trace: one audit event per account created, none for the 409s.
    const { rows } = await t.services.db.pool.query<{ request_id: string }>(
      `select request_id from audit_events where type = 'user.created' and request_id like 'req-crowd-%'`,
    );
    const refusedRequests = statuses.flatMap((s, i) => (s === 201 ? [] : [`req-crowd-${i}`]));
    expect(rows.map((r) => r.request_id).sort()).toEqual(
      names.map((_, i) => `req-crowd-${i}`).filter((r) => !refusedRequests.includes(r)),
    );
    const { rows: memberships } = await t.services.db.pool.query(
      `select 1 from group_members m where not exists (select 1 from users u where u.id = m.user_id)`,
    );
    expect(memberships).toEqual([]);
  });

  it('Should check the care references of a crowd of POSTs together, each against its own', async () => {
    const site = async (code: string) =>
      t.request('POST', '/scim/v2/Sites', {
        body: { schemas: [SITE], code, displayName: code },
      });
    expect((await site('crowd-north')).status).toBe(201);
    expect((await site('crowd-south')).status).toBe(201);
    const staff = await Promise.all(
      ['Nils', 'Oda'].map(async (displayName) =>
        (
          await t.request('POST', '/scim/v2/StaffMembers', {
            body: { schemas: [STAFF], displayName },
          })
        ).json(),
      ),
    );
    const care = (i: number) => ({
      schemas: [USER, CARE],
      [CARE]: {
        roles: [
          { site: i === 3 ? 'crowd-west' : i % 2 ? 'crowd-north' : 'crowd-south', role: 'staff' },
        ],
        staffMembers: [{ value: staff[i % 2].id }],
      },
    });
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post(`care.crowd.${i}`, `req-care-${i}`, care(i))),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 400, 201, 201, 201, 201]);
    expect(bodies[3].detail).toBe('there is no site crowd-west');
    for (const i of [0, 1, 2, 4, 5, 6, 7]) {
      expect(bodies[i][CARE].staffMembers).toEqual([
        { value: staff[i % 2].id, display: i % 2 ? 'Oda' : 'Nils' },
      ]);
      expect(bodies[i][CARE].roles[0].site).toBe(i % 2 ? 'crowd-north' : 'crowd-south');
    }
  });
});
