import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { auditEvents, CARE_APP, RETURN_URL, refusalCodes } from './helpers/sso-fixtures.ts';
import { UserAgent } from './helpers/user-agent.ts';

let t: TestApp;
let tenantId: string;
let admin: string;
const PASSWORD = 'Correct-Horse-42';
const LOGIN = 'http://carebridge.test/sso/local/default/login';

async function createUser(
  userName: string,
  opts: { tenantId?: string; status?: 'active' | 'inactive' } = {},
) {
  return t.services.directory.users.create(
    { tenantId: opts.tenantId ?? tenantId, actor: { type: 'system', id: null }, requestId: null },
    {
      userName,
      externalId: null,
      status: opts.status ?? 'active',
      attrs: { locale: 'sv-SE', timezone: 'Europe/Stockholm' },
      password: PASSWORD,
    },
  );
}

function signIn(
  username: string,
  password: string,
  ua = new UserAgent(t, { stopAt: [new URL(CARE_APP).host] }),
) {
  return ua.go('POST', LOGIN, { username, password, return_to: RETURN_URL });
}

beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  admin = await t.token({ scopes: ['admin'] });
  await t.services.db.pool.query(
    `update tenants set settings = settings || $2::jsonb where id = $1`,
    [
      tenantId,
      JSON.stringify({
        localSignIn: { allowedReturnUrls: [RETURN_URL], maxFailedAttempts: 3, lockoutMinutes: 10 },
      }),
    ],
  );
});
afterAll(async () => {
  await t?.close();
});

describe('local sign-in with a password', () => {
  it('Should show the sign-in form', async () => {
    const { res } = await new UserAgent(t).go(
      'GET',
      `${LOGIN}?return_to=${encodeURIComponent(RETURN_URL)}`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="password"');
  });

  it('Should sign in with the right password and hand over a session token', async () => {
    const user = await createUser('lena');
    const { stoppedAt } = await signIn('LENA', PASSWORD);
    const token = new URL(stoppedAt ?? '').searchParams.get('token') ?? '';
    const claims = await t.services.keys.verify(token, { audience: CARE_APP });
    expect(claims).toMatchObject({
      sub: user.id,
      amr: ['pwd'],
      locale: 'sv-SE',
      zoneinfo: 'Europe/Stockholm',
    });
    expect((await auditEvents(t, 'user.signed_in')).at(-1)?.subject_id).toBe(user.id);
  });

  it('Should answer a wrong password and an unknown user name alike, and audit both', async () => {
    const wrong = await signIn('lena', 'not-the-password');
    const unknown = await signIn('nobody', PASSWORD);
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.status).toBe(401);
    const a = (await wrong.res.text()).replace(/<code>[0-9a-f-]{36}<\/code>/, '');
    const b = (await unknown.res.text()).replace(/<code>[0-9a-f-]{36}<\/code>/, '');
    expect(a).toBe(b);
    expect((await refusalCodes(t)).slice(-2)).toEqual([
      'invalid_credentials',
      'invalid_credentials',
    ]);
    await signIn('lena', PASSWORD); // resets the count
  });

  it('Should lock the account after N failures for M minutes, the right password included', async () => {
    const user = await createUser('mats');
    for (let i = 0; i < 2; i++) expect((await signIn('mats', 'wrong')).res.status).toBe(401);
    const third = await signIn('mats', 'wrong');
    expect(third.res.status).toBe(403);
    expect(await third.res.text()).toContain('Too many failed sign-ins');
    const locked = await signIn('mats', PASSWORD);
    expect(locked.res.status).toBe(403);
    expect(locked.stoppedAt).toBeUndefined();
    const { rows } = await t.services.db.pool.query(
      `select extract(epoch from locked_until - now()) as s from local_signin_lockouts where user_id = $1`,
      [user.id],
    );
    expect(Number(rows[0].s)).toBeGreaterThan(9 * 60);
    expect(Number(rows[0].s)).toBeLessThanOrEqual(10 * 60);
    const refused = (await auditEvents(t, 'sso.signin_refused')).at(-1);
    expect(refused).toMatchObject({ subject_id: user.id, after: { code: 'locked_out' } });
    // M minutes later the lock is over.
    await t.services.db.pool.query(
      `update local_signin_lockouts set locked_until = now() - interval '1 second' where user_id = $1`,
      [user.id],
    );
    expect((await signIn('mats', PASSWORD)).stoppedAt).toContain('token=');
  });

  it('Should let an admin unlock a locked account, and nobody without the admin scope', async () => {
    const user = await createUser('nils');
    for (let i = 0; i < 3; i++) await signIn('nils', 'wrong');
    expect((await signIn('nils', PASSWORD)).res.status).toBe(403);
    const scim = await t.token({ scopes: ['scim'] });
    expect(
      (await t.request('POST', `/admin/v1/local-sign-in/users/${user.id}/unlock`, { token: scim }))
        .status,
    ).toBe(403);
    const res = await t.request('POST', `/admin/v1/local-sign-in/users/${user.id}/unlock`, {
      token: admin,
    });
    expect(await res.json()).toEqual({ id: user.id, unlocked: true });
    expect((await signIn('nils', PASSWORD)).stoppedAt).toContain('token=');
    expect((await auditEvents(t, 'local.unlocked')).at(-1)?.subject_id).toBe(user.id);
  });

  it("Should answer 404 when an admin unlocks another tenant's account", async () => {
    const otherTenant = (await t.services.directory.tenants.ensure('south-care')).tenant.id;
    const other = await createUser('olle', { tenantId: otherTenant });
    const res = await t.request('POST', `/admin/v1/local-sign-in/users/${other.id}/unlock`, {
      token: admin,
    });
    expect(res.status).toBe(404);
    // Nor can the other tenant's account sign in here.
    expect((await signIn('olle', PASSWORD)).res.status).toBe(401);
  });

  it('Should make the person choose a new password, by the tenant rules, when an admin requires it', async () => {
    const user = await createUser('pia');
    await t.request('POST', `/admin/v1/local-sign-in/users/${user.id}/require-password-change`, {
      token: admin,
    });
    const ua = new UserAgent(t, { stopAt: [new URL(CARE_APP).host] });
    const first = await signIn('pia', PASSWORD, ua);
    expect(first.stoppedAt).toBeUndefined();
    const page = await first.res.text();
    expect(page).toContain('Change your password');
    expect(page).toContain('at least 12 characters');
    const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const weak = await ua.send('POST', 'http://carebridge.test/sso/local/default/password', {
      state,
      new_password: 'short',
    });
    expect(weak.status).toBe(400);
    const again = await weak.text();
    expect(again).toContain('It still needs at least 12 characters');
    const state2 = /name="state" value="([^"]+)"/.exec(again)?.[1] ?? '';
    // The used state cannot be used again.
    expect(
      (
        await ua.send('POST', 'http://carebridge.test/sso/local/default/password', {
          state,
          new_password: 'A-Much-Better-Passw0rd',
        })
      ).status,
    ).toBe(400);
    const done = await ua.go('POST', 'http://carebridge.test/sso/local/default/password', {
      state: state2,
      new_password: 'A-Much-Better-Passw0rd',
    });
    expect(done.stoppedAt).toContain('token=');
    expect((await signIn('pia', PASSWORD)).res.status).toBe(401);
    expect((await signIn('pia', 'A-Much-Better-Passw0rd')).stoppedAt).toContain('token=');
    expect((await auditEvents(t, 'user.password_changed')).at(-1)?.subject_id).toBe(user.id);
    expect(JSON.stringify(await auditEvents(t, 'user.password_changed'))).not.toContain(
      'A-Much-Better',
    );
  });

  it('Should refuse an inactive account even with the right password, saying why', async () => {
    await createUser('rut', { status: 'inactive' });
    const { res } = await signIn('rut', PASSWORD);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Your account has been deactivated');
  });

  it('Should refuse a return URL the tenant does not allow', async () => {
    const res = await new UserAgent(t).send('POST', LOGIN, {
      username: 'lena',
      password: PASSWORD,
      return_to: 'https://evil.example/x',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('Should answer 404 for a tenant without local sign-in', async () => {
    const res = await new UserAgent(t).send(
      'GET',
      'http://carebridge.test/sso/local/south-care/login',
    );
    expect(res.status).toBe(404);
  });
});
