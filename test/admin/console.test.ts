import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARE_USER_SCHEMA } from '../../src/care/care-extension.ts';
import type { UserStatus } from '../../src/directory/user-record.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { UserAgent } from '../sso/helpers/user-agent.ts';

const BASE = 'http://carebridge.test';
const PASSWORD = 'Correct-Horse-42';
let t: TestApp;
let tenantId: string;
const system = () => ({ tenantId, actor: { type: 'system' as const, id: null }, requestId: null });

async function createUser(
  userName: string,
  care: Record<string, unknown> = {},
  opts: { status?: UserStatus; title?: string } = {},
) {
  return t.services.directory.users.create(system(), {
    userName,
    externalId: null,
    status: opts.status ?? 'active',
    attrs: {
      name: { givenName: userName, familyName: 'Test' },
      ...(opts.title ? { title: opts.title } : {}),
      ...(Object.keys(care).length > 0 ? { [CARE_USER_SCHEMA]: care } : {}),
    },
    password: PASSWORD,
  });
}

/** Signs in through carebridge's local sign-in and lands on the console with its cookie. */
async function signIn(userName: string) {
  const ua = new UserAgent(t);
  const { res } = await ua.go('POST', `${BASE}/sso/local/default/login`, {
    username: userName,
    password: PASSWORD,
    return_to: `${BASE}/admin/session`,
  });
  return { ua, res };
}

async function csrfOf(ua: UserAgent, path = '/admin/users'): Promise<string> {
  const html = await (await ua.send('GET', `${BASE}${path}`)).text();
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
}

beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  await t.services.db.pool.query(
    `update tenants set settings = settings || $2::jsonb where id = $1`,
    [tenantId, JSON.stringify({ localSignIn: { allowedReturnUrls: [`${BASE}/admin/session`] } })],
  );
  await createUser('ada.admin', { adminAccess: true });
  await createUser('eli.elevated', { elevatedAccess: true, roles: [] });
  await createUser('nia.nurse', {}, { title: 'Nurse' });
  await createUser('lou.locked', {}, { status: 'locked' });
});
afterAll(async () => {
  await t?.close();
});

describe('the admin console session', () => {
  it('Should sign in through local sign-in and keep the session in a signed HttpOnly SameSite=Lax cookie', async () => {
    const ua = new UserAgent(t);
    const landing = await ua.go('POST', `${BASE}/sso/local/default/login`, {
      username: 'ada.admin',
      password: PASSWORD,
      return_to: `${BASE}/admin/session`,
    });
    expect(landing.res.status).toBe(200);
    expect(landing.url).toBe(`${BASE}/admin/users`);
    const session = ua.hops.find((h) => h.url.startsWith(`${BASE}/admin/session`));
    expect(session?.status).toBe(303);
    const raw = await t.app.request(
      `${BASE}/admin/session?token=${new URL(session?.url ?? '').searchParams.get('token')}`,
    );
    const cookie = raw.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^cb_console=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/admin/);
    expect(await landing.res.text()).toContain('ada.admin');
  });

  it('Should send a visitor without a session to the sign-in page and refuse a forged cookie', async () => {
    const ua = new UserAgent(t);
    const res = await ua.send('GET', `${BASE}/admin/users`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/sign-in');
    ua.setCookie('carebridge.test', 'cb_console', 'eyJhbGciOiJub25lIn0.e30.');
    expect((await ua.send('GET', `${BASE}/admin/users`)).status).toBe(303);
    expect((await ua.send('POST', `${BASE}/admin/sign-out`, { _csrf: 'x' })).status).toBe(401);
  });

  it('Should offer local sign-in on the sign-in page of a tenant whose return URLs allow the console', async () => {
    const res = await t.app.request(`${BASE}/admin/sign-in?tenant=default`);
    const html = await res.text();
    expect(html).toContain(
      `/sso/local/default/login?return_to=${encodeURIComponent(`${BASE}/admin/session`)}`,
    );
  });

  it('Should refuse the console to an account with neither admin nor elevated access, naming the rule', async () => {
    const { res } = await signIn('nia.nurse');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('needs admin access or elevated access');
  });

  it('Should refuse a POST without the CSRF token, or from another origin', async () => {
    const { ua } = await signIn('ada.admin');
    const nurse = await t.services.directory.users.get(
      tenantId,
      (await t.services.db.pool.query(`select id from users where user_name = 'nia.nurse'`)).rows[0]
        .id,
    );
    const noToken = await ua.send('POST', `${BASE}/admin/users/${nurse.id}/deactivate`, {});
    expect(noToken.status).toBe(403);
    const wrong = await ua.send('POST', `${BASE}/admin/users/${nurse.id}/deactivate`, {
      _csrf: 'guess',
    });
    expect(wrong.status).toBe(403);
    expect((await t.services.directory.users.get(tenantId, nurse.id)).status).toBe('active');
  });
});

describe('the user list', () => {
  it('Should filter to Locked, whatever the toggle', async () => {
    const { ua } = await signIn('ada.admin');
    const html = await (
      await ua.send('GET', `${BASE}/admin/users?preset=locked&state=active`)
    ).text();
    expect(html).toContain('lou.locked');
    expect(html).not.toContain('>nia.nurse<');
    expect(html).toContain('Users 1–1 of 1');
  });

  it('Should sort by last authenticated and page 15 at a time', async () => {
    for (let i = 0; i < 16; i++) await createUser(`page.${String(i).padStart(2, '0')}`);
    const { ua } = await signIn('ada.admin'); // nia's refused sign-in came before ada's last
    const names = async (query: string) => {
      const html = await (await ua.send('GET', `${BASE}/admin/users?${query}`)).text();
      return {
        html,
        names: [...html.matchAll(/href="\/admin\/users\/[0-9a-f-]{36}">([^<]+)</g)].map(
          (m) => m[1],
        ),
      };
    };
    const asc = await names('sort=lastAuthenticated&order=asc&count=15');
    expect(asc.names).toHaveLength(15);
    expect(asc.names.slice(0, 2)).toEqual(['nia.nurse', 'ada.admin']);
    expect(asc.html).toContain('aria-sort="ascending"');
    expect(asc.html).toContain('Page 1 of 2');
    // Descending, accounts that never signed in come first (SCIM's order for missing values).
    const desc = await names('sort=lastAuthenticated&order=desc&count=15&page=2');
    expect(desc.names.slice(-2)).toEqual(['ada.admin', 'nia.nurse']);
  });

  it('Should filter on a column with a value that tries to break out of the SCIM string', async () => {
    const { ua } = await signIn('ada.admin');
    const evil = encodeURIComponent('x" or userName pr or title eq "');
    const res = await ua.send('GET', `${BASE}/admin/users?column=title&q=${evil}&state=any`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('No users match.');
    const nurses = await (
      await ua.send('GET', `${BASE}/admin/users?column=title&q=nurs&state=any`)
    ).text();
    expect(nurses).toContain('nia.nurse');
  });
});

describe('the user page and its actions', () => {
  it('Should deactivate and activate a user through the directory, audited, with the notice', async () => {
    const { ua } = await signIn('eli.elevated');
    const target = await createUser('kim.carer');
    const csrf = await csrfOf(ua, `/admin/users/${target.id}`);
    const off = await ua.go('POST', `${BASE}/admin/users/${target.id}/deactivate`, { _csrf: csrf });
    expect(await off.res.text()).toContain('The account is deactivated');
    expect((await t.services.directory.users.get(tenantId, target.id)).status).toBe('inactive');
    await ua.go('POST', `${BASE}/admin/users/${target.id}/activate`, { _csrf: csrf });
    expect((await t.services.directory.users.get(tenantId, target.id)).status).toBe('active');
    const { rows } = await t.services.db.pool.query(
      `select type, actor_type, actor_id from audit_events where subject_id = $1 order by id`,
      [target.id],
    );
    expect(rows.map((r) => r.type)).toEqual([
      'user.created',
      'user.deactivated',
      'user.reactivated',
    ]);
    expect(rows[1]).toMatchObject({ actor_type: 'user' });
  });

  it('Should refuse, naming the rule, what the access rules refuse: deactivating oneself', async () => {
    const { ua } = await signIn('ada.admin');
    const me = (
      await t.services.db.pool.query(`select id from users where user_name = 'ada.admin'`)
    ).rows[0].id;
    const csrf = await csrfOf(ua);
    const res = await ua.send('POST', `${BASE}/admin/users/${me}/deactivate`, { _csrf: csrf });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('nobody can deactivate or delete their own account');
  });

  it('Should edit a user, a blank field removing the value', async () => {
    const { ua } = await signIn('ada.admin');
    const target = await createUser('ed.edit', {}, { title: 'Carer' });
    const csrf = await csrfOf(ua);
    await ua.go('POST', `${BASE}/admin/users/${target.id}/edit`, {
      _csrf: csrf,
      displayName: 'Ed Edit',
      'name.givenName': 'Ed',
      'name.familyName': 'Edit',
      title: '',
      email: 'ed@care.example',
      language: 'sv-SE',
    });
    const after = await t.services.directory.users.get(tenantId, target.id);
    expect(after.attrs['title']).toBeUndefined();
    expect(after.attrs['displayName']).toBe('Ed Edit');
    expect(after.attrs['preferredLanguage']).toBe('sv-SE');
  });

  it('Should erase only after the username is typed, the page naming the consequence', async () => {
    const { ua } = await signIn('ada.admin');
    const target = await createUser('gone.soon');
    const page = await (await ua.send('GET', `${BASE}/admin/users/${target.id}/erase`)).text();
    expect(page).toContain('permanent and cannot be undone');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const wrong = await ua.send('POST', `${BASE}/admin/users/${target.id}/erase`, {
      _csrf: csrf,
      confirm: 'nope',
    });
    expect(wrong.status).toBe(400);
    expect((await t.services.directory.users.get(tenantId, target.id)).userName).toBe('gone.soon');
    // ada has admin access but is no main administrator: the care rules refuse the erasure.
    const refused = await ua.send('POST', `${BASE}/admin/users/${target.id}/erase`, {
      _csrf: csrf,
      confirm: 'gone.soon',
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('only a main administrator may erase');
  });

  it('Should show another tenant user as not found', async () => {
    const { ua } = await signIn('ada.admin');
    const other = (await t.services.directory.tenants.ensure('elsewhere')).tenant.id;
    const stranger = await t.services.directory.users.create(
      { tenantId: other, actor: { type: 'system', id: null }, requestId: null },
      { userName: 'stranger', externalId: null, status: 'active', attrs: {} },
    );
    const res = await ua.send('GET', `${BASE}/admin/users/${stranger.id}`);
    expect(res.status).toBe(404);
  });
});

describe('staff members, groups and the import page', () => {
  it('Should assign and unassign a staff member with one click, and filter them', async () => {
    const { ua } = await signIn('ada.admin');
    const staff = await t.services.directory.care.staffMembers.create(system(), {
      displayName: 'Night carer Nord',
      externalId: null,
      attrs: {},
    });
    const target = await createUser('sam.staff');
    const csrf = await csrfOf(ua, `/admin/users/${target.id}`);
    await ua.go('POST', `${BASE}/admin/users/${target.id}/staff-members`, {
      _csrf: csrf,
      staffMember: staff.id,
      assign: 'true',
    });
    const assigned = await (
      await ua.send('GET', `${BASE}/admin/users/${target.id}?staff=assigned`)
    ).text();
    expect(assigned).toContain('Night carer Nord (assigned)');
    const user = await t.services.directory.users.get(tenantId, target.id);
    expect(JSON.stringify(user.attrs)).toContain(staff.id);
    await ua.go('POST', `${BASE}/admin/users/${target.id}/staff-members`, {
      _csrf: csrf,
      staffMember: staff.id,
      assign: 'false',
    });
    const unassigned = await (
      await ua.send('GET', `${BASE}/admin/users/${target.id}?staff=unassigned`)
    ).text();
    expect(unassigned).toContain('Night carer Nord');
    expect(unassigned).not.toContain('(assigned)');
  });

  it('Should preview who a rule matches on the group page, and say why a bad rule is refused', async () => {
    const { ua } = await signIn('ada.admin');
    const group = await t.services.directory.groups.create(
      system(),
      { displayName: 'Nurses', externalId: null, attrs: {}, rule: 'title eq "Nurse"' },
      [],
    );
    const list = await (await ua.send('GET', `${BASE}/admin/groups`)).text();
    expect(list).toContain('title eq &quot;Nurse&quot;');
    const page = await (await ua.send('GET', `${BASE}/admin/groups/${group.id}`)).text();
    expect(page).toContain('The rule matches 1 active users');
    expect(page).toContain('nia.nurse');
    const bad = await ua.send(
      'GET',
      `${BASE}/admin/groups/${group.id}?rule=${encodeURIComponent('title eq')}`,
    );
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('role="alert"');
  });

  it('Should start an import, show its progress page, and the result with the failed row', async () => {
    const { ua } = await signIn('ada.admin');
    const form = new FormData();
    form.set('_csrf', await csrfOf(ua, '/admin/import'));
    form.set('mode', 'create');
    form.set(
      'file',
      new File(
        ['email,username,language\nrun.nurse@care.example,run.nurse,sv\nbad@care.example,bad\n'],
        'night-staff.csv',
        { type: 'text/csv' },
      ),
    );
    const started = await ua.send('POST', `${BASE}/admin/import`, form);
    expect(started.status).toBe(303);
    const runPath = started.headers.get('location') as string;
    expect(runPath).toMatch(/^\/admin\/import\/runs\/[0-9a-f-]{36}$/);

    let progress: { status: string; rows: number; fileBytes: number; bytes: number } | undefined;
    for (let i = 0; i < 50 && progress?.status !== 'done'; i++) {
      progress = await (await ua.send('GET', `${BASE}${runPath}/progress`)).json();
      if (progress?.status !== 'done') await new Promise((r) => setTimeout(r, 100));
    }
    expect(progress).toMatchObject({ status: 'done', rows: 2, fileName: 'night-staff.csv' });
    expect(progress?.bytes).toBe(progress?.fileBytes);
    const html = await (await ua.send('GET', `${BASE}${runPath}`)).text();
    expect(html).toContain('id="count-created">1<');
    expect(html).toContain('id="count-failed">1<');
    expect(html).toContain('the row has 2 cells; the header has 3');
    // The form page lists the run, linked to its page.
    expect(await (await ua.send('GET', `${BASE}/admin/import`)).text()).toContain(
      `href="${runPath}"`,
    );
    // Without a session, the sign-in page.
    expect((await t.app.request(`${BASE}${runPath}`)).status).toBe(303);
  });

  it('Should show a refused file on its run page, and refuse a form without a file on the form', async () => {
    const { ua } = await signIn('ada.admin');
    const csrf = await csrfOf(ua, '/admin/import');
    const form = new FormData();
    form.set('_csrf', csrf);
    form.set('mode', 'create');
    form.set('file', new File(['username,email,language\nx,x@care.example,en\n'], 'wrong.csv'));
    const started = await ua.send('POST', `${BASE}/admin/import`, form);
    expect(started.status).toBe(303);
    // The header is read once the run has started: the refusal shows on the run's page.
    const runPath = started.headers.get('location') as string;
    let status = '';
    for (let i = 0; i < 50 && status !== 'failed'; i++) {
      status = (await (await ua.send('GET', `${BASE}${runPath}/progress`)).json()).status;
      if (status !== 'failed') await new Promise((r) => setTimeout(r, 100));
    }
    const refused = await (await ua.send('GET', `${BASE}${runPath}`)).text();
    expect(refused).toContain('role="alert"');
    expect(refused).toContain('email, username, language in that order');

    const empty = new FormData();
    empty.set('_csrf', csrf);
    empty.set('mode', 'create');
    const noFile = await ua.send('POST', `${BASE}/admin/import`, empty);
    expect(noFile.status).toBe(400);
    expect(await noFile.text()).toContain('Choose a CSV file to import.');
    expect((await ua.send('GET', `${BASE}/admin/import/runs/not-a-run`)).status).toBe(404);
  });

  it('Should refuse an upload whose CSRF token is missing or wrong, and one over the limit', async () => {
    const { ua } = await signIn('ada.admin');
    const runsBefore = await t.services.db.pool.query('select count(*)::int as n from import_runs');
    for (const token of ['forged', undefined]) {
      const form = new FormData();
      if (token) form.set('_csrf', token);
      form.set('mode', 'create');
      form.set(
        'file',
        new File(['email,username,language\nx@care.example,forged.x,en\n'], 'x.csv'),
      );
      const res = await ua.send('POST', `${BASE}/admin/import`, form);
      expect(res.status).toBe(403);
      expect(await res.text()).toBe('the form is stale: reload the page');
    }
    // The token after the file (a crafted form) is refused too: the file is not kept.
    const late = new FormData();
    late.set('mode', 'create');
    late.set('file', new File(['email,username,language\nx@care.example,late.x,en\n'], 'x.csv'));
    late.set('_csrf', await csrfOf(ua, '/admin/import'));
    expect((await ua.send('POST', `${BASE}/admin/import`, late)).status).toBe(403);
    const runsAfter = await t.services.db.pool.query('select count(*)::int as n from import_runs');
    expect(runsAfter.rows[0].n).toBe(runsBefore.rows[0].n);

    const big = new FormData();
    big.set('_csrf', await csrfOf(ua, '/admin/import'));
    big.set('mode', 'create');
    big.set('file', new File([Buffer.alloc(21 * 1024 * 1024, 'a')], 'big.csv'));
    const tooBig = await ua.send('POST', `${BASE}/admin/import`, big);
    expect(tooBig.status).toBe(413);

    // Streamed without a length: the file is cut off at the limit as it is written.
    const csrf = await csrfOf(ua, '/admin/import');
    const part = (name: string, value: string) =>
      `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const chunks = [
      part('_csrf', csrf) + part('mode', 'create'),
      '--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\nemail,username,language\n',
      ...Array.from({ length: 21 }, () => 'a'.repeat(1024 * 1024)),
      '\r\n--B--\r\n',
    ];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const streamed = await t.app.request(`${BASE}/admin/import`, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=B',
        cookie: `cb_console=${ua.cookie('carebridge.test', 'cb_console')}`,
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.text()).toContain('larger than the import limit of 20 MB');
  });

  it('Should serve the templates to a signed-in administrator only', async () => {
    const { ua } = await signIn('ada.admin');
    const res = await ua.send('GET', `${BASE}/admin/import/templates/update`);
    expect(res.headers.get('content-disposition')).toContain('UpdateUsersTemplate.csv');
    expect((await res.text()).startsWith('match,')).toBe(true);
    const anonymous = await t.app.request(`${BASE}/admin/import/templates/update`);
    expect(anonymous.status).toBe(303);
  });
});

describe('staff member and site pages', () => {
  it('Should send every console page to the sign-in page without a session', async () => {
    for (const path of [
      '/admin',
      '/admin/users',
      '/admin/groups',
      '/admin/staff-members',
      '/admin/sites',
      '/admin/import',
      '/admin/access',
    ]) {
      const res = await t.app.request(`${BASE}${path}`);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toBe('/admin/sign-in');
    }
  });

  it('Should list staff members by name and show the users linked to one', async () => {
    const { ua } = await signIn('ada.admin');
    const staff = await t.services.directory.care.staffMembers.create(system(), {
      displayName: 'Day carer Syd',
      externalId: null,
      attrs: {},
    });
    const linked = await createUser('liv.linked', { staffMembers: [{ value: staff.id }] });
    const list = await (await ua.send('GET', `${BASE}/admin/staff-members?q=syd`)).text();
    expect(list).toContain('Day carer Syd');
    expect(list).not.toContain('Night carer Nord');
    const page = await (await ua.send('GET', `${BASE}/admin/staff-members/${staff.id}`)).text();
    expect(page).toContain(`/admin/users/${linked.id}`);
    expect((await ua.send('GET', `${BASE}/admin/sites`)).status).toBe(200);
  });
});

describe('sign-in connections and API tokens', () => {
  it('Should list tokens without their value and let admin access, not elevated access, revoke one', async () => {
    const token = await t.token({ scopes: ['scim'] });
    const { ua } = await signIn('ada.admin');
    const page = await (await ua.send('GET', `${BASE}/admin/access`)).text();
    expect(page).toContain('<td>scim</td>');
    expect(page).not.toContain(token);
    const id = /action="\/admin\/access\/tokens\/([0-9a-f-]{36})\/revoke"/.exec(
      page,
    )?.[1] as string;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

    const elevated = await signIn('eli.elevated');
    const elevatedCsrf = await csrfOf(elevated.ua, '/admin/access');
    const refused = await elevated.ua.send('POST', `${BASE}/admin/access/tokens/${id}/revoke`, {
      _csrf: elevatedCsrf,
    });
    expect(refused.status).toBe(403);
    expect((await t.request('GET', '/scim/v2/Users', { token })).status).toBe(200);

    const done = await ua.go('POST', `${BASE}/admin/access/tokens/${id}/revoke`, { _csrf: csrf });
    expect(await done.res.text()).toContain('The token is revoked.');
    expect((await t.request('GET', '/scim/v2/Users', { token })).status).toBe(401);
  });
});
