import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';
import { rulesClient } from './data/rules-client.ts';

let t: TestApp;
let scim: ReturnType<typeof rulesClient>;
let admin: string;
beforeAll(async () => {
  t = await createTestApp();
  scim = rulesClient(t);
  admin = await t.token({ scopes: ['admin'] });
});
afterAll(async () => {
  await t.close();
});

const api = (method: string, path: string, body?: unknown, token = admin) =>
  rawRequest(t.app, `/admin/v1/groups${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('The group-rule admin API', () => {
  it('Should set, read and delete a rule, applying it to the tenant each time', async () => {
    const nurse = await scim.createUser('admin.nurse', { title: 'Nurse' });
    const manual = await scim.createUser('admin.manual');
    const group = await scim.createGroup('Admin nurses', {}, [manual]);

    expect(await (await api('GET', `/${group.id}/rule`)).json()).toMatchObject({ rule: null });
    const put = await api('PUT', `/${group.id}/rule`, { rule: 'title eq "Nurse"' });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ id: group.id, rule: 'title eq "Nurse"' });
    expect(await scim.sources(group.id)).toEqual({ [nurse]: ['rule'], [manual]: ['manual'] });
    expect((await api('GET', `/${group.id}/rule`)).status).toBe(200);

    const del = await api('DELETE', `/${group.id}/rule`);
    expect(del.status).toBe(204);
    expect(await scim.memberIds(group.id)).toEqual([manual]);
    expect(await (await api('GET', `/${group.id}/rule`)).json()).toMatchObject({ rule: null });
  });

  it('Should preview who a rule would match, paged, without saving it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await scim.createUser(`preview.${i}`, { title: 'Preview' }));
    await scim.createUser('preview.off', { title: 'Preview', active: false });
    const group = await scim.createGroup('Preview group');
    const first = await api('POST', `/${group.id}/rule/preview`, {
      rule: 'title eq "preview"',
      count: 2,
    });
    expect(first.status).toBe(200);
    const page1 = await first.json();
    expect(page1).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 2 });
    const page3 = await (
      await api('POST', `/${group.id}/rule/preview`, {
        rule: 'title eq "preview"',
        startIndex: 5,
        count: 2,
      })
    ).json();
    expect(page3).toMatchObject({ totalResults: 5, itemsPerPage: 1 });
    const seen = [...page1.users, ...page3.users].map((u: { id: string }) => u.id);
    expect(ids.sort()).toEqual(expect.arrayContaining(seen));
    const past = await (
      await api('POST', `/${group.id}/rule/preview`, { rule: 'title eq "preview"', startIndex: 99 })
    ).json();
    expect(past).toMatchObject({ totalResults: 5, itemsPerPage: 0, users: [] });
    // Nothing was saved.
    expect(await scim.memberIds(group.id)).toEqual([]);
    expect(await (await api('GET', `/${group.id}/rule`)).json()).toMatchObject({ rule: null });
  });

  it('Should refuse an invalid rule with invalidFilter, changing nothing', async () => {
    const group = await scim.createGroup('Admin kept', { rule: 'title eq "Kept"' });
    for (const rule of ['title eq', 'unknown pr', 'groups pr']) {
      const res = await api('PUT', `/${group.id}/rule`, { rule });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalidFilter' });
      const preview = await api('POST', `/${group.id}/rule/preview`, { rule });
      expect(preview.status).toBe(400);
    }
    expect(await (await api('GET', `/${group.id}/rule`)).json()).toMatchObject({
      rule: 'title eq "Kept"',
    });
    const bad = await api('PUT', `/${group.id}/rule`, { rule: 1 });
    expect(bad.status).toBe(400);
  });

  it('Should refuse a rule on All Users', async () => {
    const list = await (
      await t.request(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "All Users"')}`,
      )
    ).json();
    const res = await api('PUT', `/${list.Resources[0].id}/rule`, { rule: 'title pr' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'mutability' });
  });

  it('Should need a token with the admin scope', async () => {
    const group = await scim.createGroup('Guarded');
    const none = await rawRequest(t.app, `/admin/v1/groups/${group.id}/rule`);
    expect(none.status).toBe(401);
    const scimOnly = await api('PUT', `/${group.id}/rule`, { rule: 'title pr' }, await t.token());
    expect(scimOnly.status).toBe(403);
    expect(await scim.memberIds(group.id)).toEqual([]);
  });

  it('Should answer 404 for another tenant group and for ids that are not ids', async () => {
    const theirs = await rulesClient(t, await t.token({ tenant: 'elsewhere' })).createGroup(
      'Theirs',
    );
    expect((await api('GET', `/${theirs.id}/rule`)).status).toBe(404);
    expect((await api('PUT', `/${theirs.id}/rule`, { rule: 'title pr' })).status).toBe(404);
    expect((await api('POST', `/${theirs.id}/rule/preview`, { rule: 'title pr' })).status).toBe(
      404,
    );
    expect((await api('GET', `/not-an-id/rule`)).status).toBe(404);
  });
});
