import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReferenceCache } from '../../src/care/reference-cache.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

// Concurrent creates check the sites, staff members and care recipients they name against
// what earlier batches found (src/care/reference-cache.ts), and their transaction checks
// those facts again. Each test changes a fact after a batch remembered it, by a door that
// does not tell the cache, and expects the next crowd to be refused as if nothing had been
// remembered.
let t: TestApp;
let tenantId: string;
beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  await t.services.db.pool.query(
    `update tenants set settings = settings || '{"multipleStaffMembersPerUser": true}' where id = $1`,
    [tenantId],
  );
});
afterAll(async () => {
  await t.close();
});

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
const SITE = 'urn:ietf:params:scim:schemas:carebridge:2.0:Site';
const STAFF = 'urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember';

async function created(path: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await t.request('POST', path, { body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}
const site = (code: string, extra: Record<string, unknown> = {}) =>
  created('/scim/v2/Sites', { schemas: [SITE], code, displayName: code, ...extra });
const staffMember = (displayName: string) =>
  created('/scim/v2/StaffMembers', { schemas: [STAFF], displayName });
const plainUser = (userName: string) => created('/scim/v2/Users', { schemas: [USER], userName });

/** Five concurrent POSTs of care users (coalesced: all but the first go as one batch). */
async function crowd(prefix: string, care: Record<string, unknown>) {
  const responses = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      t.request('POST', '/scim/v2/Users', {
        body: { schemas: [USER, CARE], userName: `${prefix}.${i}`, [CARE]: care },
      }),
    ),
  );
  return Promise.all(
    responses.map(async (r) => ({ status: r.status, body: await r.json() })),
  ) as Promise<{ status: number; body: { id: string; detail?: string } }[]>;
}

async function stored(prefix: string): Promise<number> {
  const { rows } = await t.services.db.pool.query<{ n: number }>(
    `select count(*)::int as n from users where tenant_id = $1 and user_name like $2`,
    [tenantId, `${prefix}.%`],
  );
  return rows[0]?.n ?? 0;
}

describe('Remembered references of concurrent creates', () => {
  it('Should answer a lookup from what an earlier batch found, and ask again for anything new', async () => {
    await site('mem-known');
    const nurse = await staffMember('Known nurse');
    const connects = { n: 0 };
    const pool = t.services.db.pool;
    const counting = {
      query: pool.query.bind(pool),
      connect: () => {
        connects.n++;
        return pool.connect();
      },
    } as unknown as pg.Pool;
    const cache = new ReferenceCache();
    const refs = { siteCodes: ['mem-known'], staff: [nurse.id], recipients: [] };
    const first = await cache.forBatch().forWrite().lookup(counting, tenantId, refs);
    expect(connects.n).toBe(1);
    const second = cache.forBatch().forWrite();
    const again = await second.lookup(counting, tenantId, refs);
    expect({ sites: again.sites, staff: again.staff, multiple: again.multiple }).toEqual({
      sites: first.sites,
      staff: first.staff,
      multiple: first.multiple,
    });
    expect(second.remembered()).toBe(true);
    expect(connects.n).toBe(1);
    // A site nobody asked for yet goes to the database.
    await site('mem-new');
    const third = cache.forBatch().forWrite();
    const found = await third.lookup(counting, tenantId, { ...refs, siteCodes: ['mem-new'] });
    expect(third.remembered()).toBe(false);
    expect(connects.n).toBe(2);
    expect(found.sites).toEqual([{ code: 'mem-new', kind: 'site', parent: null }]);
    // Recipients are presumed to exist once the sites and staff members are known.
    const stranger = '01900000-0000-7000-8000-00000000beef';
    const fourth = cache.forBatch().forWrite();
    const presumed = await fourth.lookup(counting, tenantId, { ...refs, recipients: [stranger] });
    expect(fourth.remembered()).toBe(true);
    expect(presumed.recipients).toEqual([stranger]);
    expect(connects.n).toBe(2);
    // A batch prepared again after its facts were wrong presumes nothing.
    const fifth = cache.forBatch({ presume: false }).forWrite();
    const looked = await fifth.lookup(counting, tenantId, { ...refs, recipients: [stranger] });
    expect(fifth.remembered()).toBe(false);
    expect(looked.recipients ?? []).toEqual([]);
    expect(connects.n).toBe(3);
  });

  it('Should start again empty once a tenant has more sites and staff members than it remembers', async () => {
    const [a, b, c] = await Promise.all(['Bound A', 'Bound B', 'Bound C'].map(staffMember));
    const cache = new ReferenceCache({ maxKeys: 2 });
    const look = async (id: string | undefined) => {
      const write = cache.forBatch().forWrite();
      const found = await write.lookup(t.services.db.pool, tenantId, {
        siteCodes: [],
        staff: [id as string],
        recipients: [],
      });
      expect(found.staff).toEqual([expect.objectContaining({ id })]);
      return write.remembered();
    };
    expect(await look(a?.id)).toBe(false);
    expect(await look(b?.id)).toBe(false);
    // Two are remembered: both answered without the database.
    expect(await look(a?.id)).toBe(true);
    expect(await look(b?.id)).toBe(true);
    // A third does not fit: the cache starts again with it alone.
    expect(await look(c?.id)).toBe(false);
    expect(await look(c?.id)).toBe(true);
    expect(await look(a?.id)).toBe(false);
  });

  it('Should refuse only the create linking a care recipient that never existed, among creates presumed right', async () => {
    await site('mem-presume');
    const real = await plainUser('recipient.real');
    const assistant = (recipient: string) => ({
      roles: [{ site: 'mem-presume', role: 'assistant' }],
      assistantLinks: [{ recipient, status: 'active' }],
    });
    // The site is remembered by a first crowd; the second names recipients nobody looked up.
    expect((await crowd('presume.first', assistant(real.id))).map((r) => r.status)).toEqual([
      201, 201, 201, 201, 201,
    ]);
    const fresh = await plainUser('recipient.fresh');
    const missing = '01900000-0000-7000-8000-00000000dead';
    const responses = await Promise.all(
      [fresh.id, fresh.id, missing, fresh.id, fresh.id].map((recipient, i) =>
        t.request('POST', '/scim/v2/Users', {
          body: {
            schemas: [USER, CARE],
            userName: `presume.second.${i}`,
            [CARE]: assistant(recipient),
          },
        }),
      ),
    );
    const answers = await Promise.all(
      responses.map(async (r) => ({ status: r.status, body: await r.json() })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 400, 201, 201]);
    expect(answers[2]?.body.detail).toBe(`there is no care recipient ${missing}`);
    expect(await stored('presume.second')).toBe(4);
    const { rows } = await t.services.db.pool.query<{ n: number }>(
      `select count(*)::int as n from users where tenant_id = $1
         and attrs @> jsonb_build_object($2::text, jsonb_build_object('assistantLinks', jsonb_build_array(jsonb_build_object('recipient', $3::text))))`,
      [tenantId, CARE, missing],
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('Should refuse creates naming a staff member deleted after an earlier batch named it', async () => {
    const gone = await staffMember('Soon gone');
    const first = await crowd('staff.first', { staffMembers: [{ value: gone.id }] });
    expect(first.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    for (const r of first)
      expect((await t.request('DELETE', `/scim/v2/Users/${r.body.id}`)).status).toBe(204);
    expect((await t.request('DELETE', `/scim/v2/StaffMembers/${gone.id}`)).status).toBe(204);
    const second = await crowd('staff.second', { staffMembers: [{ value: gone.id }] });
    expect(second.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    for (const r of second) expect(r.body.detail).toBe(`there is no staff member ${gone.id}`);
    expect(await stored('staff.second')).toBe(0);
  });

  it('Should refuse creates giving a role at a site that became a program after an earlier batch named it', async () => {
    await site('mem-parent');
    const flip = await site('mem-flip');
    const role = { roles: [{ site: 'mem-flip', role: 'staff' }] };
    expect((await crowd('site.first', role)).map((r) => r.status)).toEqual([
      201, 201, 201, 201, 201,
    ]);
    const res = await t.request('PUT', `/scim/v2/Sites/${flip.id}`, {
      body: {
        schemas: [SITE],
        code: 'mem-flip',
        displayName: 'mem-flip',
        kind: 'program',
        parent: 'mem-parent',
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const second = await crowd('site.second', role);
    expect(second.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    for (const r of second) expect(r.body.detail).toBe('there is no site mem-flip');
    expect(await stored('site.second')).toBe(0);
  });

  it('Should refuse links to a care recipient deleted after an earlier batch linked it', async () => {
    await site('mem-assist');
    const recipient = await plainUser('recipient.soon.gone');
    const link = {
      roles: [{ site: 'mem-assist', role: 'assistant' }],
      assistantLinks: [{ recipient: recipient.id, status: 'active' }],
    };
    expect((await crowd('link.first', link)).map((r) => r.status)).toEqual([
      201, 201, 201, 201, 201,
    ]);
    expect((await t.request('DELETE', `/scim/v2/Users/${recipient.id}`)).status).toBe(204);
    const second = await crowd('link.second', link);
    expect(second.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    for (const r of second)
      expect(r.body.detail).toBe(`there is no care recipient ${recipient.id}`);
    expect(await stored('link.second')).toBe(0);
  });

  it('Should refuse two staff members per user once the tenant links one per user again', async () => {
    const a = await staffMember('Pair A');
    const b = await staffMember('Pair B');
    const pair = { staffMembers: [{ value: a.id }, { value: b.id }] };
    expect((await crowd('pair.first', pair)).map((r) => r.status)).toEqual([
      201, 201, 201, 201, 201,
    ]);
    await t.services.db.pool.query(
      `update tenants set settings = settings || '{"multipleStaffMembersPerUser": false}' where id = $1`,
      [tenantId],
    );
    try {
      const second = await crowd('pair.second', pair);
      expect(second.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
      for (const r of second) expect(r.body.detail).toContain('multipleStaffMembersPerUser is off');
      expect(await stored('pair.second')).toBe(0);
    } finally {
      await t.services.db.pool.query(
        `update tenants set settings = settings || '{"multipleStaffMembersPerUser": true}' where id = $1`,
        [tenantId],
      );
    }
  });

  it('Should accept two staff members per user once the tenant links many again, after a batch remembered one per user', async () => {
    const a = await staffMember('Again A');
    const b = await staffMember('Again B');
    const setMultiple = (on: boolean) =>
      t.services.db.pool.query(
        `update tenants set settings = settings || jsonb_build_object('multipleStaffMembersPerUser', $2::boolean) where id = $1`,
        [tenantId, on],
      );
    await setMultiple(false);
    try {
      for (const [prefix, one] of [
        ['again.a', a],
        ['again.b', b],
      ] as const) {
        const single = await crowd(prefix, { staffMembers: [{ value: one.id }] });
        expect(single.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
      }
    } finally {
      await setMultiple(true);
    }
    // The refusal the remembered "one per user" would give is checked on a fresh lookup.
    const pair = await crowd('again.second', { staffMembers: [{ value: a.id }, { value: b.id }] });
    expect(pair.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
  });
});
