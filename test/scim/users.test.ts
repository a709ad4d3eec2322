import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function createUser(body: Record<string, unknown>) {
  const res = await t.request('POST', '/scim/v2/Users', { body: { schemas: [USER], ...body } });
  expect(res.status).toBe(201);
  return res.json();
}

describe('POST /Users', () => {
  it('Should create a user with every stored attribute and answer 201 with Location and ETag', async () => {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: {
        schemas: [USER, ENTERPRISE],
        userName: 'anna.berg@north.example',
        externalId: 'okta-00u1',
        name: { givenName: 'Anna', familyName: 'Berg' },
        emails: [{ value: 'anna.berg@north.example', type: 'work', primary: true }],
        phoneNumbers: [{ value: '+46 70 123 45 67', type: 'mobile' }],
        addresses: [{ type: 'work', locality: 'Umeå', country: 'SE' }],
        roles: [{ value: 'nurse' }],
        entitlements: [{ value: 'medication-round' }],
        locale: 'sv-SE',
        timezone: 'Europe/Stockholm',
        preferredLanguage: 'sv',
        active: true,
        [ENTERPRISE]: { employeeNumber: '7', department: 'Night staff' },
      },
    });
    expect(res.status).toBe(201);
    const user = await res.json();
    expect(res.headers.get('location')).toBe(`http://carebridge.test/scim/v2/Users/${user.id}`);
    expect(res.headers.get('etag')).toBe(user.meta.version);
    expect(res.headers.get('content-type')).toContain('application/scim+json');
    expect(user).toMatchObject({
      userName: 'anna.berg@north.example',
      externalId: 'okta-00u1',
      name: { givenName: 'Anna', familyName: 'Berg' },
      locale: 'sv-SE',
      timezone: 'Europe/Stockholm',
      preferredLanguage: 'sv',
      active: true,
      [ENTERPRISE]: { employeeNumber: '7', department: 'Night staff' },
      meta: { resourceType: 'User', location: `http://carebridge.test/scim/v2/Users/${user.id}` },
    });
    expect(user.schemas).toEqual([USER, ENTERPRISE]);
    const again = await (await t.request('GET', `/scim/v2/Users/${user.id}`)).json();
    expect(again).toEqual(user);
  });

  it('Should refuse a userName already in use in any case with 409 uniqueness, creating nothing', async () => {
    await createUser({ userName: 'Bo.Lind@north.example' });
    const res = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'bo.lind@NORTH.example' },
    });
    expect(res.status).toBe(409);
    expect((await res.json()).scimType).toBe('uniqueness');
    const list = await (
      await t.request('GET', '/scim/v2/Users?filter=userName eq "bo.lind@north.example"')
    ).json();
    expect(list.totalResults).toBe(1);
  });

  it('Should never return the password, and store only its hash', async () => {
    const user = await createUser({ userName: 'pw.user', password: 'Correct horse battery 1' });
    expect(user.password).toBeUndefined();
    const { rows } = await t.database.db.pool.query(
      'select password_hash from users where id = $1',
      [user.id],
    );
    expect(rows[0].password_hash).toMatch(/^scrypt\$/);
    expect(rows[0].password_hash).not.toContain('Correct horse');
  });

  it('Should accept application/json and refuse malformed JSON with invalidSyntax', async () => {
    const json = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'json.client' },
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(201);
    const bad = await t.request('POST', '/scim/v2/Users', {
      body: '{"schemas": [',
      headers: { 'content-type': 'application/scim+json; charset=utf-8' },
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).scimType).toBe('invalidSyntax');
  });

  it('Should refuse a body over the payload limit with 413', async () => {
    const res = await t.request('POST', '/scim/v2/Users', {
      body: { schemas: [USER], userName: 'big', nickName: 'x'.repeat(2_000_000) },
    });
    expect(res.status).toBe(413);
    const list = await (await t.request('GET', '/scim/v2/Users?filter=userName eq "big"')).json();
    expect(list.totalResults).toBe(0);
  });

  it('Should cut off a streamed body without Content-Length at the limit with 413', async () => {
    let sent = 0;
    const chunk = new TextEncoder().encode(`"${'x'.repeat(64 * 1024)}",`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"schemas":[],"junk":['));
      },
      pull(controller) {
        // Endless unless the server stops reading: at most 64 MB, then a valid end.
        if (sent > 64 * 1024 * 1024) {
          controller.enqueue(new TextEncoder().encode('""]}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const token = await t.token();
    const res = await t.app.request('http://carebridge.test/scim/v2/Users', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).detail).toContain('larger than');
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('Should write an audit event and a change event with the create', async () => {
    const user = await createUser({ userName: 'audited.user' });
    const audit = await t.database.db.pool.query(
      'select type, actor_type, after from audit_events where subject_id = $1',
      [user.id],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ type: 'user.created', actor_type: 'token' });
    expect(audit.rows[0].after.userName).toBe('audited.user');
    const changes = await t.database.db.pool.query(
      'select operation from change_events where resource_id = $1',
      [user.id],
    );
    expect(changes.rows).toEqual([{ operation: 'created' }]);
  });
});

describe('GET, PUT, PATCH, DELETE /Users/:id', () => {
  it('Should answer 404, never 500, for ids that are not ours', async () => {
    for (const id of ['not-a-uuid', '00000000-0000-0000-0000-000000000000', "1' or '1'='1"]) {
      const res = await t.request('GET', `/scim/v2/Users/${encodeURIComponent(id)}`);
      expect(res.status).toBe(404);
      expect((await res.json()).schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
  });

  it('Should answer 304 to If-None-Match with the current ETag and 412 to a stale If-Match', async () => {
    const user = await createUser({ userName: 'etag.user' });
    const notModified = await t.request('GET', `/scim/v2/Users/${user.id}`, {
      headers: { 'if-none-match': user.meta.version },
    });
    expect(notModified.status).toBe(304);
    const stale = await t.request('PUT', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [USER], userName: 'etag.user', title: 'Nurse' },
      headers: { 'if-match': 'W/"999"' },
    });
    expect(stale.status).toBe(412);
    const fresh = await t.request('PUT', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [USER], userName: 'etag.user', title: 'Nurse' },
      headers: { 'if-match': user.meta.version },
    });
    expect(fresh.status).toBe(200);
    expect((await fresh.json()).title).toBe('Nurse');
  });

  it('Should replace the whole user on PUT: attributes left out are gone', async () => {
    const user = await createUser({ userName: 'put.user', title: 'Nurse', nickName: 'Putte' });
    const res = await t.request('PUT', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [USER], userName: 'put.user', title: 'Head nurse' },
    });
    const body = await res.json();
    expect(body.title).toBe('Head nurse');
    expect(body.nickName).toBeUndefined();
  });

  it('Should leave meta.lastModified alone when a PATCH changes nothing', async () => {
    const user = await createUser({ userName: 'same.user', title: 'Nurse' });
    const res = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Nurse' }] },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.meta.lastModified).toBe(user.meta.lastModified);
    expect(body.meta.version).toBe(user.meta.version);
  });

  it('Should deactivate with PATCH active "False" (Entra) and show active false', async () => {
    const user = await createUser({ userName: 'entra.user' });
    const res = await t.request('PATCH', `/scim/v2/Users/${user.id}`, {
      body: { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).active).toBe(false);
    const { rows } = await t.database.db.pool.query('select status from users where id = $1', [
      user.id,
    ]);
    expect(rows[0].status).toBe('inactive');
  });

  it('Should answer a PATCH with ?attributes= with the projected resource', async () => {
    const user = await createUser({ userName: 'projected.user' });
    const res = await t.request('PATCH', `/scim/v2/Users/${user.id}?attributes=userName`, {
      body: { schemas: [PATCH], Operations: [{ op: 'add', path: 'title', value: 'Intake' }] },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.userName).toBe('projected.user');
    expect(body.id).toBe(user.id);
    expect(body.title).toBeUndefined();
  });

  it('Should soft-delete: 404 afterwards, the row kept, the userName free again', async () => {
    const user = await createUser({ userName: 'leaver@north.example' });
    expect((await t.request('DELETE', `/scim/v2/Users/${user.id}`)).status).toBe(204);
    expect((await t.request('GET', `/scim/v2/Users/${user.id}`)).status).toBe(404);
    expect((await t.request('DELETE', `/scim/v2/Users/${user.id}`)).status).toBe(404);
    const { rows } = await t.database.db.pool.query('select status from users where id = $1', [
      user.id,
    ]);
    expect(rows[0].status).toBe('deleted');
    await createUser({ userName: 'leaver@north.example' });
  });
});
