import type { TestApp } from '../../helpers/test-app.ts';

export const CARE_APP = 'https://care.example';
export const RETURN_URL = `${CARE_APP}/after-sign-in`;

/** Creates or replaces a connection through the admin API, as an administrator would. */
export async function putConnection(
  t: TestApp,
  slug: string,
  body: Record<string, unknown>,
  tenant = 'default',
): Promise<Record<string, unknown>> {
  const token = await t.token({ tenant, scopes: ['admin'] });
  const res = await t.request('PUT', `/admin/v1/sso-connections/${slug}`, {
    token,
    body,
    headers: { 'content-type': 'application/json' },
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`PUT connection ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** The audit events of one type, newest last. */
export async function auditEvents(
  t: TestApp,
  type: string,
): Promise<{ tenant_id: string; subject_id: string | null; after: Record<string, unknown> }[]> {
  const { rows } = await t.services.db.pool.query(
    'select tenant_id, subject_id, after from audit_events where type = $1 order by id',
    [type],
  );
  return rows;
}

/** The refusal codes audited so far. */
export async function refusalCodes(t: TestApp): Promise<string[]> {
  return (await auditEvents(t, 'sso.signin_refused')).map((e) => String(e.after['code']));
}

export async function userByName(t: TestApp, tenantId: string, userName: string) {
  const { rows } = await t.services.db.pool.query(
    'select * from users where tenant_id = $1 and lower(user_name) = lower($2)',
    [tenantId, userName],
  );
  return rows[0] as
    | { id: string; status: string; attrs: Record<string, unknown>; user_name: string }
    | undefined;
}
