import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** Every log line the app writes, parsed. */
const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
let raw = '';
let t: TestApp;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  t = await createTestApp({}, { log: createLogger('trace', sink) });
});
afterAll(() => t.close());

describe('the request log', () => {
  it('Should log one line per answered request with method, path and status, never the query string', async () => {
    const res = await t.request(
      'GET',
      '/scim/v2/Users?filter=userName%20eq%20%22anna.private%40north.example%22',
    );
    expect(res.status).toBe(200);
    const line = lines.find((l) => l.msg === 'answered' && l['path'] === '/scim/v2/Users');
    expect(line).toMatchObject({ method: 'GET', status: 200 });
    expect(raw).not.toContain('anna.private');
  });

  it('Should never write a bearer token or a password to the log', async () => {
    const token = await t.token();
    const password = 'Correct-Horse-Battery-9';
    const res = await t.request('POST', '/scim/v2/Users', {
      token,
      body: { schemas: [USER], userName: 'bo@north.example', password },
    });
    expect(res.status).toBe(201);
    await t.request('GET', '/scim/v2/Users', { token: `${token}x` });
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(password);
  });

  it('Should log refusals below error level and faults at error level with the request id', async () => {
    const before = lines.length;
    const refused = await t.request('GET', '/scim/v2/Users/00000000-0000-0000-0000-000000000000');
    expect(refused.status).toBe(404);
    expect(lines.slice(before).filter((l) => l.level >= 50)).toEqual([]);

    await t.database.db.pool.query('alter table users rename to users_gone');
    try {
      const failed = await t.request('GET', '/scim/v2/Users');
      expect(failed.status).toBe(500);
      const requestId = failed.headers.get('x-request-id');
      const fault = lines.find((l) => l.level >= 50 && l['requestId'] === requestId);
      expect(fault?.msg).toBe('request failed');
      expect(JSON.stringify(await failed.json())).not.toContain('users_gone');
    } finally {
      await t.database.db.pool.query('alter table users_gone rename to users');
    }
  });
});
