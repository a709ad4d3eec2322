import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { PATCH, rulesClient } from '../rules/data/rules-client.ts';

// Many PATCHes at once, as Okta and Entra deprovision the leavers of an organisation: the
// directory sends those that arrive while an update is in flight together
// (src/directory/write-coalescer.ts, updateUsers in src/directory/users-batch.ts). Each
// must still get exactly the answer, error and audit event it would get alone.
let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

const patch = (id: string, operations: unknown[], headers: Record<string, string> = {}) =>
  t.request('PATCH', `/scim/v2/Users/${id}`, {
    body: { schemas: [PATCH], Operations: operations },
    headers,
  });

/** How many of the tenant's audit events of `type` on `ids` shared a transaction with another. */
async function sharedTransactions(ids: string[], type: string): Promise<number> {
  // now() is the transaction's start: events written by one transaction share it.
  const { rows } = await t.services.db.pool.query<{ n: number }>(
    `select count(*)::int as n from (
       select at from audit_events where type = $2 and subject_id = any($1::uuid[])
       group by at having count(*) > 1) shared`,
    [ids, type],
  );
  return rows[0]?.n ?? 0;
}

describe('Concurrent updates', () => {
  it('Should answer each of 40 concurrent PATCHes with its own account, groups and audit event', async () => {
    const nurses = await scim.createGroup('Crowd nurses', { rule: 'title eq "Nurse"' });
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => scim.createUser(`leaver.${i}`, { title: 'Carer' })),
    );
    const manual = await scim.createGroup('Crowd night shift', {}, ids);
    // A leaver's own API token is suspended with it; a stayer's keeps working.
    const tenantId = (await t.services.directory.tenants.findByName('default'))?.id as string;
    const tokenOf = (userId: string, name: string) =>
      t.services.tokens.issue({
        tenantId,
        scopes: ['scim'],
        name,
        createdBy: userId,
      });
    const leaverToken = await tokenOf(ids[1] as string, 'leaver-sync');
    const stayerToken = await tokenOf(ids[2] as string, 'stayer-sync');
    const usable = async (token: string) =>
      (await t.request('GET', '/scim/v2/Users?count=0', { token })).status === 200;
    expect(await usable(leaverToken.token)).toBe(true);
    // Even ones become nurses (a rule group), odd ones leave (every membership ends).
    const responses = await Promise.all(
      ids.map((id, i) =>
        patch(
          id,
          i % 2 === 0
            ? [{ op: 'replace', path: 'title', value: 'Nurse' }]
            : [{ op: 'Replace', path: 'active', value: 'False' }],
          { 'x-request-id': `req-leaver-${i}` },
        ),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    for (const [i, res] of responses.entries()) {
      const body = bodies[i];
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({
        id: ids[i],
        userName: `leaver.${i}`,
        meta: { version: 'W/"2"' },
      });
      expect(res.headers.get('etag')).toBe('W/"2"');
      const groups = (body.groups ?? []).map((g: { display: string }) => g.display).sort();
      if (i % 2 === 0) {
        expect(body).toMatchObject({ title: 'Nurse', active: true });
        expect(groups).toEqual(['All Users', 'Crowd night shift', 'Crowd nurses']);
      } else {
        expect(body).toMatchObject({ title: 'Carer', active: false });
        expect(groups).toEqual([]);
      }
      // The answer is what a later read returns.
      const read = await (await t.request('GET', `/scim/v2/Users/${ids[i]}`)).json();
      expect(read).toEqual(body);
    }
    expect(await usable(leaverToken.token)).toBe(false);
    expect(await usable(stayerToken.token)).toBe(true);
    expect(await scim.memberIds(nurses.id)).toEqual(ids.filter((_, i) => i % 2 === 0).sort());
    expect(await scim.memberIds(manual.id)).toEqual(ids.filter((_, i) => i % 2 === 0).sort());
    const { rows } = await t.services.db.pool.query<{
      subject_id: string;
      request_id: string;
      after: { status: string; membershipsRemoved?: { group: string; source: string }[] };
    }>(
      `select subject_id, request_id, after from audit_events
       where type = 'user.updated' and subject_id = any($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(40);
    const event = new Map(rows.map((r) => [r.subject_id, r]));
    for (const [i, id] of ids.entries()) {
      expect(event.get(id)?.request_id).toBe(`req-leaver-${i}`);
      if (i % 2 === 1) {
        // The manual membership a leaver lost is remembered for audit.
        expect(event.get(id)?.after.membershipsRemoved).toContainEqual({
          group: manual.id,
          source: 'manual',
        });
      }
    }
    // The crowd really went in batches: this test would pass one request at a time too.
    expect(await sharedTransactions(ids, 'user.updated')).toBeGreaterThan(0);
  });

  it('Should give a stale If-Match, a taken userName and a bad path of a crowd their own errors, and apply the rest', async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => scim.createUser(`crowd.change.${i}`)),
    );
    await scim.createUser('crowd.taken');
    const title = (i: number) => [{ op: 'replace', path: 'title', value: `Title ${i}` }];
    const sent = ids.map((id, i) => {
      if (i === 3) return patch(id, title(i), { 'if-match': 'W/"7"' });
      if (i === 5) return patch(id, [{ op: 'replace', path: 'userName', value: 'CROWD.TAKEN' }]);
      if (i === 8) return patch(id, [{ op: 'replace', path: 'emails[type eq', value: 'x' }]);
      if (i === 10) return patch(id, title(i), { 'if-match': 'W/"1"' });
      return patch(id, title(i));
    });
    const responses = await Promise.all(sent);
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 412, 200, 409, 200, 200, 400, 200, 200, 200]);
    expect((await (responses[5] as Response).json()).scimType).toBe('uniqueness');
    expect((await (responses[8] as Response).json()).scimType).toBe('invalidPath');
    for (const [i, id] of ids.entries()) {
      const user = await scim.user(id);
      const refused = i === 3 || i === 5 || i === 8;
      expect(user.title).toBe(refused ? undefined : `Title ${i}`);
      expect(user.userName).toBe(`crowd.change.${i}`);
      expect(user.meta.version).toBe(refused ? 'W/"1"' : 'W/"2"');
    }
  });

  it('Should apply every one of many concurrent PATCHes of one account, none lost', async () => {
    const id = await scim.createUser('many.changes');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        patch(id, [{ op: 'add', path: 'emails', value: [{ value: `n${i}@care.example` }] }]),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const user = await scim.user(id);
    expect(user.emails.map((e: { value: string }) => e.value).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `n${i}@care.example`).sort(),
    );
    expect(user.meta.version).toBe('W/"11"');
  });

  it('Should answer a PATCH that changes nothing of a crowd with the account as it is', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => scim.createUser(`same.${i}`, { title: 'Nurse' })),
    );
    const responses = await Promise.all(
      ids.map((id) => patch(id, [{ op: 'replace', path: 'title', value: 'Nurse' }])),
    );
    for (const [i, res] of responses.entries()) {
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ userName: `same.${i}`, meta: { version: 'W/"1"' } });
      expect(body.meta.lastModified).toBe(body.meta.created);
      // Nurses, matched by the first test's rule group.
      expect(body.groups.map((g: { display: string }) => g.display)).toEqual([
        'All Users',
        'Crowd nurses',
      ]);
    }
  });
});
