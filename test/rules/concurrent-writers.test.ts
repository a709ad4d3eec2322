import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';
import { CARE_GROUP, ENTERPRISE, rulesClient, sorted } from './data/rules-client.ts';

let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
});
afterAll(async () => {
  await t.close();
});

/** The ids of the users a filter matches now, as GET /Users?filter answers. */
async function matching(filter: string): Promise<string[]> {
  const res = await t.request(
    'GET',
    `/scim/v2/Users?count=1000&filter=${encodeURIComponent(`(${filter}) and active eq true`)}`,
  );
  return sorted((await res.json()).Resources.map((r: { id: string }) => r.id));
}

/** The users a group holds by its rule. */
async function ruleMembers(groupId: string): Promise<string[]> {
  const sources = await scim.sources(groupId);
  return sorted(Object.keys(sources).filter((id) => sources[id]?.includes('rule')));
}

/** Changes a group's rule through the admin API, a door that does not tell the process's caches. */
async function setRuleByAdmin(groupId: string, rule: string): Promise<Response> {
  const admin = await t.token({ scopes: ['admin'] });
  return rawRequest(t.app, `/admin/v1/groups/${groupId}/rule`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rule }),
  });
}

/** The default tenant, written to as the system (the directory's own callers). */
async function systemContext() {
  const { tenant } = await t.services.directory.tenants.ensure('default');
  return { tenantId: tenant.id, actor: { type: 'system' as const, id: null }, requestId: null };
}

describe('Concurrent writers', () => {
  it('Should end with the right memberships when two writers change the same user at once', async () => {
    const titles = await scim.createGroup('Parallel titles', { rule: 'title eq "Lead"' });
    const departments = await scim.createGroup('Parallel departments', {
      rule: `${ENTERPRISE}:department eq "Ward 7"`,
    });
    const users = await Promise.all(
      Array.from({ length: 8 }, (_, i) => scim.createUser(`parallel.${i}`)),
    );
    // Each user gets two PATCHes at once, each touching what the other rule reads.
    const results = await Promise.all(
      users.flatMap((id) => [
        scim.patchUser(id, [{ op: 'replace', path: 'title', value: 'Lead' }]),
        scim.patchUser(id, [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Ward 7' }]),
      ]),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(await ruleMembers(titles.id)).toEqual(sorted(users));
    expect(await ruleMembers(departments.id)).toEqual(sorted(users));

    // And flipping back and forth in parallel ends where the user ends.
    await Promise.all(
      users.flatMap((id, i) => [
        scim.patchUser(id, [{ op: 'replace', path: 'title', value: i % 2 ? 'Lead' : 'Aide' }]),
        scim.patchUser(id, [{ op: 'replace', path: 'active', value: i % 3 !== 0 }]),
        scim.patchUser(id, [
          { op: 'replace', path: `${ENTERPRISE}:department`, value: i % 2 ? 'Ward 8' : 'Ward 7' },
        ]),
      ]),
    );
    expect(await ruleMembers(titles.id)).toEqual(await matching('title eq "Lead"'));
    expect(await ruleMembers(departments.id)).toEqual(
      await matching(`${ENTERPRISE}:department eq "Ward 7"`),
    );
  });

  it('Should not lose a user written while its rule changes', async () => {
    const group = await scim.createGroup('Racing rule', { rule: 'title eq "Before"' });
    const users = await Promise.all(
      Array.from({ length: 6 }, (_, i) => scim.createUser(`race.${i}`, { title: 'Before' })),
    );
    const writes = users.map((id) =>
      scim.patchUser(id, [{ op: 'replace', path: 'title', value: 'After' }]),
    );
    const ruleChange = setRuleByAdmin(group.id, 'title eq "After"');
    // A crowd of creates (coalesced into batches, src/directory/users-batch.ts) beside it.
    const created = Promise.all(
      Array.from({ length: 8 }, (_, i) => scim.createUser(`race.new.${i}`, { title: 'After' })),
    );
    const [ruleRes, ...writeRes] = await Promise.all([ruleChange, ...writes]);
    expect(ruleRes.status).toBe(200);
    expect(writeRes.map((r) => r.status)).toEqual(writeRes.map(() => 200));
    const newcomers = await created;
    expect(await ruleMembers(group.id)).toEqual(sorted([...users, ...newcomers]));
    expect((await scim.group(group.id))[CARE_GROUP].rule).toBe('title eq "After"');
  });

  it('Should evaluate a batch of creates with the rules as changed after the batch compiled them', async () => {
    const group = await scim.createGroup('Batch rule', { rule: 'title eq "Old"' });
    const ctx = await systemContext();
    const input = (userName: string, title: string) => ({
      userName,
      externalId: null,
      status: 'active' as const,
      attrs: { title },
    });
    const batch = (prefix: string, title: string) =>
      t.services.directory.users.createMany(
        ctx,
        Array.from({ length: 5 }, (_, i) => input(`${prefix}.${i}`, title)),
      );
    // The first batch leaves the tenant's rule set compiled in the process; the rule change
    // goes through another door, so the next batch is sent with the old set first.
    const first = await batch('compiled', 'Old');
    const res = await setRuleByAdmin(group.id, 'title eq "New"');
    expect(res.status).toBe(200);
    const second = await batch('after.change', 'New');
    expect(second.map((o) => o.ok)).toEqual(second.map(() => true));
    const ids = (outcomes: typeof first) => outcomes.flatMap((o) => (o.ok ? [o.id] : []));
    expect(await ruleMembers(group.id)).toEqual(sorted(ids(second)));
    // Stored once: the batch sent with the stale set wrote nothing.
    const { rows } = await t.services.db.pool.query(
      `select count(*)::int as n from users where tenant_id = $1 and user_name like 'after.change.%'`,
      [ctx.tenantId],
    );
    expect(rows[0]).toEqual({ n: 5 });
  });

  it('Should evaluate a batch of account changes with the rules as changed since they were compiled', async () => {
    const group = await scim.createGroup('Batch change rule', { rule: 'title eq "Before"' });
    const ctx = await systemContext();
    const ids = await Promise.all(
      Array.from({ length: 5 }, (_, i) => scim.createUser(`batch.change.${i}`, { title: 'None' })),
    );
    const retitle = (title: string) =>
      t.services.directory.users.updateMany(
        ctx,
        ids.map((id) => ({
          id,
          change: (current) => ({ ...current, attrs: { ...current.attrs, title } }),
        })),
      );
    // The first batch leaves the tenant's rule set compiled in the process; the rule change
    // goes through another door, so the next batch would find the old set in the cache.
    expect((await retitle('Before')).map((o) => o.ok)).toEqual(ids.map(() => true));
    expect((await ruleMembers(group.id)).filter((id) => ids.includes(id))).toEqual(sorted(ids));
    const res = await setRuleByAdmin(group.id, 'title eq "After"');
    expect(res.status).toBe(200);
    expect((await ruleMembers(group.id)).filter((id) => ids.includes(id))).toEqual([]);
    expect((await retitle('After')).map((o) => o.ok)).toEqual(ids.map(() => true));
    expect((await ruleMembers(group.id)).filter((id) => ids.includes(id))).toEqual(sorted(ids));
  });

  it('Should create many matching users at once without deadlock or a lost member', async () => {
    const a = await scim.createGroup('Crowd A', { rule: 'nickName eq "crowd"' });
    const b = await scim.createGroup('Crowd B', { rule: 'nickName sw "cro"' });
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => scim.createUser(`crowd.${i}`, { nickName: 'crowd' })),
    );
    expect(await ruleMembers(a.id)).toEqual(sorted(ids));
    expect(await ruleMembers(b.id)).toEqual(sorted(ids));
  });
});
