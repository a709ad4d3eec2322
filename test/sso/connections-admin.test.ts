import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSsoCommand, SsoUsageError } from '../../src/cli/sso-commands.ts';
import { loadConfig } from '../../src/config.ts';
import { applyConnectionFile, ConnectionFileError } from '../../src/sso/connection-file.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { auditEvents } from './helpers/sso-fixtures.ts';

let t: TestApp;
let admin: string;
let dir: string;
const JSON_HEADERS = { 'content-type': 'application/json' };
const OKTA = {
  protocol: 'oidc',
  allowedReturnUrls: ['https://care.example/after-sign-in'],
  oidc: { issuer: 'https://north.okta.example', clientId: 'cb', clientSecret: 'very-secret-value' },
};

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.token({ scopes: ['admin'] });
  dir = mkdtempSync(join(tmpdir(), 'cb-sso-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

describe('the SSO connections admin API', () => {
  it('Should refuse a request without a token (401) and a token without the admin scope (403)', async () => {
    const none = await t.request('GET', '/admin/v1/sso-connections', { token: '' });
    expect(none.status).toBe(401);
    const scim = await t.request('GET', '/admin/v1/sso-connections', {
      token: await t.token({ scopes: ['scim'] }),
    });
    expect(scim.status).toBe(403);
    expect((await scim.json()).error).toBe('insufficient_scope');
  });

  it('Should create a connection with PUT, never show its secret, and audit the change', async () => {
    const res = await t.request('PUT', '/admin/v1/sso-connections/north-okta', {
      token: admin,
      body: OKTA,
      headers: JSON_HEADERS,
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({
      slug: 'north-okta',
      protocol: 'oidc',
      jit: true,
      linking: 'identity',
      idpInitiated: false,
    });
    expect(body.oidc.clientSecret).toBe('(set)');
    const list = await (
      await t.request('GET', '/admin/v1/sso-connections', { token: admin })
    ).json();
    expect(list.connections.map((c: { slug: string }) => c.slug)).toEqual(['north-okta']);
    expect(JSON.stringify(list)).not.toContain('very-secret-value');
    const audited = await auditEvents(t, 'sso_connection.created');
    expect(JSON.stringify(audited)).not.toContain('very-secret-value');
    expect(audited).toHaveLength(1);
  });

  it('Should replace a connection with a second PUT (200)', async () => {
    const res = await t.request('PUT', '/admin/v1/sso-connections/north-okta', {
      token: admin,
      body: { ...OKTA, jit: false },
      headers: JSON_HEADERS,
    });
    expect(res.status).toBe(200);
    expect((await res.json()).jit).toBe(false);
  });

  it('Should refuse an invalid connection and say which field is wrong', async () => {
    const res = await t.request('PUT', '/admin/v1/sso-connections/bad', {
      token: admin,
      body: { protocol: 'oidc', allowedReturnUrls: [], oidc: { issuer: 'not a url' } },
      headers: JSON_HEADERS,
    });
    expect(res.status).toBe(400);
    const { message } = await res.json();
    expect(message).toContain('allowedReturnUrls');
    expect(message).toContain('oidc.issuer');
    expect((await t.request('GET', '/admin/v1/sso-connections/bad', { token: admin })).status).toBe(
      404,
    );
  });

  it("Should keep another tenant's connections out of reach (404) and its slug taken (409)", async () => {
    const south = await t.token({ tenant: 'south-care', scopes: ['admin'] });
    expect(
      (await t.request('GET', '/admin/v1/sso-connections/north-okta', { token: south })).status,
    ).toBe(404);
    expect(
      (await t.request('DELETE', '/admin/v1/sso-connections/north-okta', { token: south })).status,
    ).toBe(404);
    const taken = await t.request('PUT', '/admin/v1/sso-connections/north-okta', {
      token: south,
      body: OKTA,
      headers: JSON_HEADERS,
    });
    expect(taken.status).toBe(409);
    const list = await (
      await t.request('GET', '/admin/v1/sso-connections', { token: south })
    ).json();
    expect(list.connections).toEqual([]);
  });

  it('Should remove a connection with DELETE', async () => {
    await t.request('PUT', '/admin/v1/sso-connections/to-remove', {
      token: admin,
      body: OKTA,
      headers: JSON_HEADERS,
    });
    expect(
      (await t.request('DELETE', '/admin/v1/sso-connections/to-remove', { token: admin })).status,
    ).toBe(204);
    expect(
      (await t.request('GET', '/admin/v1/sso-connections/to-remove', { token: admin })).status,
    ).toBe(404);
  });
});

describe('SSO connections from the CLI', () => {
  it('Should add, list and remove a connection, printing the URLs to give the IdP', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await runSsoCommand(t.services, [
        'add',
        '--tenant',
        'default',
        '--slug',
        'cli-okta',
        '--protocol',
        'oidc',
        '--issuer',
        'https://cli.okta.example',
        '--client-id',
        'cb',
        '--client-secret',
        'cli-secret',
        '--return-url',
        'https://care.example/after-sign-in',
      ]);
      const printed = log.mock.calls.flat().join('\n');
      expect(printed).toContain('created SSO connection cli-okta');
      expect(printed).toContain('http://carebridge.test/sso/cli-okta/callback');
      expect(printed).not.toContain('cli-secret');
      log.mockClear();
      await runSsoCommand(t.services, ['list', '--tenant', 'default']);
      expect(log.mock.calls.flat().join('\n')).toContain('cli-okta\toidc\tenabled');
      await runSsoCommand(t.services, ['remove', '--tenant', 'default', 'cli-okta']);
      log.mockClear();
      await runSsoCommand(t.services, ['list', '--tenant', 'default']);
      expect(log.mock.calls.flat().join('\n')).not.toContain('cli-okta');
    } finally {
      log.mockRestore();
    }
  });

  it('Should refuse an add without the fields a connection needs', async () => {
    await expect(
      runSsoCommand(t.services, [
        'add',
        '--tenant',
        'default',
        '--slug',
        'x',
        '--protocol',
        'oidc',
      ]),
    ).rejects.toBeInstanceOf(SsoUsageError);
  });
});

describe('SSO connections from SSO_CONFIG_FILE', () => {
  it('Should read the file path from the environment', () => {
    expect(loadConfig({ SSO_CONFIG_FILE: 'conf/sso.json' }).ssoConfigFile).toMatch(
      /\/conf\/sso\.json$/,
    );
    expect(loadConfig({}).ssoConfigFile).toBeUndefined();
  });

  it("Should create or replace each tenant's connections from the file", async () => {
    const path = join(dir, 'sso.json');
    writeFileSync(
      path,
      JSON.stringify({ connections: [{ tenant: 'west-care', slug: 'west-entra', ...OKTA }] }),
    );
    expect(await applyConnectionFile(t.services, path)).toEqual(['west-care/west-entra']);
    expect(await applyConnectionFile(t.services, path)).toEqual(['west-care/west-entra']);
    const west = await t.token({ tenant: 'west-care', scopes: ['admin'] });
    const list = await (
      await t.request('GET', '/admin/v1/sso-connections', { token: west })
    ).json();
    expect(list.connections.map((c: { slug: string }) => c.slug)).toEqual(['west-entra']);
  });

  it('Should refuse a file with a bad entry, naming the field, and apply nothing', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        connections: [
          { tenant: 'east-care', slug: 'east-ok', ...OKTA },
          { tenant: 'east-care', slug: 'Bad Slug', ...OKTA },
        ],
      }),
    );
    await expect(applyConnectionFile(t.services, path)).rejects.toThrow(ConnectionFileError);
    await expect(applyConnectionFile(t.services, path)).rejects.toThrow(/connections\.1\.slug/);
    expect(await t.services.directory.tenants.findByName('east-care')).toBeUndefined();
  });
});
