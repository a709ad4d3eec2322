import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/directory/actor.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let tenantId: string;
beforeAll(async () => {
  t = await createTestApp();
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
});
afterAll(() => t.close());

const ctx = () => ({ tenantId, actor: SYSTEM_ACTOR, requestId: 'test' });
const plain = (userName: string) => ({
  userName,
  externalId: null,
  status: 'active' as const,
  attrs: {},
});

describe('an account created at its first sign-in', () => {
  it('Should create no account when its IdP identity cannot be linked (one transaction)', async () => {
    const unknownConnection = {
      connectionId: randomUUID(),
      issuer: 'https://idp.test',
      subject: 's-1',
    };
    await expect(
      t.services.directory.users.create(ctx(), plain('orphan@north.example'), {
        identity: unknownConnection,
      }),
    ).rejects.toThrow();
    const { rows } = await t.database.db.pool.query(
      `select 1 from users where tenant_id = $1 and user_name = 'orphan@north.example'`,
      [tenantId],
    );
    expect(rows).toEqual([]);
    const audit = await t.database.db.pool.query(
      `select 1 from audit_events where type = 'user.created' and after->>'userName' = 'orphan@north.example'`,
    );
    expect(audit.rows).toEqual([]);
  });
});
