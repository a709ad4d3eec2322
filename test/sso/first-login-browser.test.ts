import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { startOidcIdp, type TestOidcIdp } from './helpers/oidc-idp.ts';
import { putConnection, userByName } from './helpers/sso-fixtures.ts';

const ARTIFACTS = 'test-artifacts';

let t: TestApp;
let idp: TestOidcIdp;
let browser: Browser;
let carebridge: Server;
let careApp: Server;
let base: string;
let returnUrl: string;
let tenantId: string;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // carebridge itself, served over HTTP on 127.0.0.1 (its public URL is known once bound).
  carebridge = createServer();
  const port = await listen(carebridge);
  base = `http://127.0.0.1:${port}`;
  t = await createTestApp({ publicUrl: base });
  carebridge.on('request', getRequestListener(t.app.fetch));
  // The care application the session is handed to: a page that says who signed in.
  careApp = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      '<!doctype html><title>Care app</title><h1 id="signed-in">Signed in to the care app</h1>',
    );
  });
  returnUrl = `http://127.0.0.1:${await listen(careApp)}/after-sign-in`;
  idp = await startOidcIdp({ redirectUris: [`${base}/sso/okta/callback`] });
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  await putConnection(t, 'okta', {
    protocol: 'oidc',
    allowedReturnUrls: [returnUrl],
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await close(carebridge);
  await close(careApp);
  await t?.close();
});

async function swedishBrowserPage() {
  const context = await browser.newContext({ timezoneId: 'Europe/Stockholm', locale: 'sv-SE' });
  return context.newPage();
}

describe('first SSO login in a real browser', () => {
  it('Should create the account with the browser time zone Europe/Stockholm and locale sv-SE', async () => {
    // The IdP gives neither `locale` nor `zoneinfo`: both must come from the browser.
    idp.signInAs('sub-sara', { email: 'sara@north.example', preferred_username: 'sara' });
    const page = await swedishBrowserPage();
    await page.goto(`${base}/sso/okta/login?return_to=${encodeURIComponent(returnUrl)}`);
    await page.waitForURL((url) => url.toString().startsWith(`${returnUrl}?token=`));
    await expect(page.locator('#signed-in')).toBeDefined();
    await page.screenshot({ path: `${ARTIFACTS}/sso-first-login-stockholm.png` });
    const user = await userByName(t, tenantId, 'sara');
    expect(user?.attrs['timezone']).toBe('Europe/Stockholm');
    expect(user?.attrs['locale']).toBe('sv-SE');
    const token = new URL(page.url()).searchParams.get('token') ?? '';
    const claims = await t.services.keys.verify(token, { audience: new URL(returnUrl).origin });
    expect(claims['zoneinfo']).toBe('Europe/Stockholm');
    expect(claims['locale']).toBe('sv-SE');
    await page.context().close();
  });

  it('Should show the chooser to a browser whose zone the tenant does not support', async () => {
    await t.services.db.pool.query(
      `update tenants set settings = settings || '{"supportedTimeZones":["Europe/Oslo","Europe/Helsinki"]}'::jsonb where id = $1`,
      [tenantId],
    );
    idp.signInAs('sub-sven', { email: 'sven@north.example', preferred_username: 'sven' });
    const page = await swedishBrowserPage();
    await page.goto(`${base}/sso/okta/login?return_to=${encodeURIComponent(returnUrl)}`);
    const chooser = page.locator('#chooser');
    await chooser.waitFor({ state: 'visible' });
    const note = await page.locator('#tz-note').textContent();
    expect(note).toContain('Europe/Stockholm');
    expect(note).toContain('not supported');
    const zones = await page.locator('#timezone option').allTextContents();
    expect(zones).toEqual(['Europe/Oslo', 'Europe/Helsinki']);
    await page.screenshot({ path: `${ARTIFACTS}/sso-first-login-chooser.png`, fullPage: true });
    expect(await userByName(t, tenantId, 'sven')).toBeUndefined();
    await page.selectOption('#timezone', 'Europe/Helsinki');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.toString().startsWith(`${returnUrl}?token=`));
    const user = await userByName(t, tenantId, 'sven');
    expect(user?.attrs['timezone']).toBe('Europe/Helsinki');
    expect(user?.attrs['locale']).toBe('sv-SE');
    await page.context().close();
  });
});
