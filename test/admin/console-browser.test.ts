import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARE_USER_SCHEMA } from '../../src/care/care-extension.ts';
import type { UserStatus } from '../../src/directory/user-record.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const ARTIFACTS = 'test-artifacts';
const PASSWORD = 'Correct-Horse-42';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let t: TestApp;
let browser: Browser;
let carebridge: Server;
let base: string;
let tenantId: string;
let page: Page;
let nora: string;
const system = () => ({ tenantId, actor: { type: 'system' as const, id: null }, requestId: null });

async function createUser(
  userName: string,
  opts: { status?: UserStatus; title?: string; care?: Record<string, unknown> } = {},
) {
  const user = await t.services.directory.users.create(system(), {
    userName,
    externalId: null,
    status: opts.status ?? 'active',
    attrs: {
      name: { givenName: userName.split('.')[0], familyName: userName.split('.')[1] ?? 'Test' },
      emails: [{ value: `${userName}@care.example`, type: 'work', primary: true }],
      ...(opts.title ? { title: opts.title } : {}),
      ...(opts.care ? { [CARE_USER_SCHEMA]: opts.care } : {}),
    },
    password: PASSWORD,
  });
  return user.id;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** axe-core in the page: the serious and critical violations, by rule id and target. */
async function seriousViolations(p: Page): Promise<string[]> {
  await p.addScriptTag({ path: AXE });
  const violations = await p.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(): Promise<{
            violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => String(n.target[0])),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

async function groupsOnPage(): Promise<string[]> {
  if ((await page.locator('#groups').count()) === 0) return [];
  return (await page.locator('#groups li').allTextContents()).map((s) => s.trim()).sort();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  carebridge = createServer();
  base = `http://127.0.0.1:${await listen(carebridge)}`;
  t = await createTestApp({ publicUrl: base });
  carebridge.on('request', getRequestListener(t.app.fetch));
  tenantId = (await t.services.directory.tenants.ensure('default')).tenant.id;
  await t.services.db.pool.query(
    `update tenants set settings = settings || $2::jsonb where id = $1`,
    [tenantId, JSON.stringify({ localSignIn: { allowedReturnUrls: [`${base}/admin/session`] } })],
  );
  await createUser('ada.admin', { care: { adminAccess: true } });
  nora = await createUser('nora.nurse', { title: 'Nurse' });
  await createUser('nils.nurse', { title: 'Nurse' });
  await createUser('lou.locked', { status: 'locked' });
  await createUser('carl.carer', { title: 'Carer' });
  await t.services.directory.groups.create(
    system(),
    { displayName: 'Nurses', externalId: null, attrs: {}, rule: 'title eq "Nurse"' },
    [],
  );
  await t.services.directory.groups.create(
    system(),
    { displayName: 'Night shift', externalId: null, attrs: {} },
    [nora],
  );
  browser = await launchChromium();
  // A tablet: the console must work at 768 × 1024 without a framework.
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  carebridge?.closeAllConnections();
  await new Promise<void>((resolve) =>
    carebridge ? carebridge.close(() => resolve()) : resolve(),
  );
  await t?.close();
});

describe('the admin console in a real browser', () => {
  it('Should sign in through carebridge local sign-in', async () => {
    await page.goto(`${base}/admin`);
    await page.waitForURL(`${base}/admin/sign-in`);
    await page.getByLabel('Organisation').fill('default');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('link', { name: 'Sign in with a carebridge password' }).click();
    await page.fill('input[name=username]', 'ada.admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/admin/users`);
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-list.png`, fullPage: true });
    expect(await page.locator('#users tbody tr').count()).toBe(4); // active users only
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('Should filter the list to Locked', async () => {
    await page.selectOption('#preset', 'locked');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/preset=locked/);
    const rows = await page.locator('#users tbody tr td:first-child').allTextContents();
    expect(rows).toEqual(['lou.locked']);
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-list-locked.png`, fullPage: true });
  });

  it('Should sort by last authenticated, ascending then descending', async () => {
    await page.selectOption('#preset', 'all');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('a[data-sort=lastAuthenticated]').click();
    await page.waitForURL(/sort=lastAuthenticated&order=asc/);
    expect(await page.locator('#users tbody tr td:first-child').first().textContent()).toBe(
      'ada.admin',
    );
    await page.locator('a[data-sort=lastAuthenticated]').click();
    await page.waitForURL(/order=desc/);
    const header = page.locator('th', { has: page.locator('a[data-sort=lastAuthenticated]') });
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('#users tbody tr td:first-child').last().textContent()).toBe(
      'ada.admin',
    );
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-list-sorted.png`, fullPage: true });
  });

  it('Should open a user, deactivate and reactivate them, and see the groups follow the rules', async () => {
    await page.getByRole('link', { name: 'nora.nurse' }).click();
    await page.waitForURL(`${base}/admin/users/${nora}`);
    expect(await groupsOnPage()).toEqual([
      'All Users (system)',
      'Night shift (manual)',
      'Nurses (rule)',
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-page.png`, fullPage: true });

    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.waitForURL(/done=deactivated/);
    expect(await page.locator('#status').textContent()).toBe('inactive');
    expect(await groupsOnPage()).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-deactivated.png`, fullPage: true });

    await page.getByRole('button', { name: 'Activate' }).click();
    await page.waitForURL(/done=activated/);
    expect(await page.locator('#status').textContent()).toBe('active');
    // Seed 002: reactivation restores the automatic groups, never the manual ones.
    expect(await groupsOnPage()).toEqual(['All Users (system)', 'Nurses (rule)']);
    expect(await page.locator('#history tbody tr td:nth-child(2)').allTextContents()).toEqual(
      expect.arrayContaining(['user.deactivated', 'user.reactivated']),
    );
    await page.screenshot({ path: `${ARTIFACTS}/admin-user-reactivated.png`, fullPage: true });
  });

  it('Should import a CSV and show the result with the failed row', async () => {
    await page.getByRole('link', { name: 'CSV import' }).click();
    await page.setInputFiles('#file', {
      name: 'new-staff.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'email,username,language,title\nolga@care.example,olga.nurse,sv-SE,Nurse\nnora.nurse@care.example,nora.again,en,Nurse\npia@care.example,pia.carer,en,Carer\n',
      ),
    });
    await page.selectOption('#mode', 'create');
    await page.getByRole('button', { name: 'Import' }).click();
    // The form answers with the run's page, which shows the result once the run is done.
    await page.locator('#result').waitFor();
    expect(page.url()).toMatch(/\/admin\/import\/runs\/[0-9a-f-]{36}$/);
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.locator('#count-created').textContent()).toBe('2');
    expect(await page.locator('#count-failed').textContent()).toBe('1');
    const failure = await page.locator('#failures tbody tr').textContent();
    expect(failure).toContain('3');
    expect(failure).toContain('nora.nurse@care.example');
    await page.screenshot({ path: `${ARTIFACTS}/admin-import-result.png`, fullPage: true });
    // The imported nurse follows the rule like any other account.
    const nurses = await page.goto(`${base}/admin/users?column=userName&q=olga`);
    expect(nurses?.status()).toBe(200);
    await page.getByRole('link', { name: 'olga.nurse' }).click();
    expect(await groupsOnPage()).toEqual(['All Users (system)', 'Nurses (rule)']);
  });

  it('Should follow a running import on its page: the bar and counts move, then the result shows', async () => {
    const id = '0b6c8a52-7e0f-4c1e-9a3d-2f4e6b8c1d3a';
    const pool = t.services.db.pool;
    await pool.query(
      `insert into import_runs (id, tenant_id, actor_type, mode, file_name, file_bytes, bytes, rows, created)
       values ($1, $2, 'cli', 'create', 'big.csv', 1000, 250, 500, 500)`,
      [id, tenantId],
    );
    await page.goto(`${base}/admin/import/runs/${id}`);
    expect(await page.locator('#run-progress').getAttribute('value')).toBe('250');
    expect(await seriousViolations(page)).toEqual([]);
    // The run goes on (as another process writes it); the page follows without a reload.
    await pool.query(
      `update import_runs set bytes = 800, rows = 1500, created = 1500, heartbeat_at = now() where id = $1`,
      [id],
    );
    await page.locator('#run-status', { hasText: '1500 rows so far' }).waitFor();
    expect(await page.locator('#count-created').textContent()).toBe('1500');
    expect(await page.locator('#run-percent').textContent()).toBe('80%');
    expect(
      await page.locator('#run-progress').evaluate((e) => (e as HTMLProgressElement).value),
    ).toBe(800);
    await page.screenshot({ path: `${ARTIFACTS}/admin-import-progress.png`, fullPage: true });
    await pool.query(
      `update import_runs set status = 'done', bytes = 1000, rows = 2000, created = 2000,
         finished_at = now() where id = $1`,
      [id],
    );
    await page.locator('#result').waitFor();
    expect(await page.locator('#count-created').textContent()).toBe('2000');
    expect(await page.locator('#run-status').textContent()).toContain('Done: 2000 rows');
  });

  it('Should show the groups with a rule preview, and the other pages, without serious accessibility issues', async () => {
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('link', { name: 'Nurses' }).click();
    expect(await page.locator('#preview-total').textContent()).toContain('matches 3 active users');
    await page.screenshot({ path: `${ARTIFACTS}/admin-group-preview.png`, fullPage: true });
    for (const path of [
      '/admin/groups',
      '/admin/import',
      '/admin/access',
      '/admin/staff-members',
    ]) {
      await page.goto(`${base}${path}`);
      expect(await seriousViolations(page), path).toEqual([]);
    }
  });
});
