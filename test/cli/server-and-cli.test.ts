import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE, STAFF } from '../care/data/care-fixtures.ts';
import { createScratchDatabase } from '../helpers/test-database.ts';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';

let dataDir: string;
let env: NodeJS.ProcessEnv;
let dropDatabase: (() => Promise<void>) | undefined;

function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** The node arguments of package.json's start script: the server runs as `npm start` runs it. */
function npmStartArguments(): string[] {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.trim().split(/\s+/);
  expect(command).toBe('node');
  return args;
}

async function startServer(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, npmStartArguments(), {
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 45_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return { proc, url };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

const cli = (...args: string[]) => run(TSX, ['src/cli/main.ts', ...args], { env });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cb-cli-'));
  env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const serverUrl = process.env['DATABASE_URL'];
  if (serverUrl) {
    const scratch = await createScratchDatabase(serverUrl, 'cb_cli');
    env['DATABASE_URL'] = scratch.url;
    dropDatabase = scratch.drop;
  }
});

afterAll(async () => {
  await dropDatabase?.();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start, the CLI and the token command', () => {
  it('Should create tenants and print tokens while the server runs, and keep data across a restart', async () => {
    let { proc, url } = await startServer();
    try {
      const first = await cli('tenants', 'create', 'north-care');
      expect(first.stdout).toContain('created tenant north-care');
      const second = await cli('tenants', 'create', 'north-care');
      expect(second.stdout).toContain('tenant north-care exists');

      const issued = await cli('token', '--tenant', 'north-care', '--scope', 'scim');
      const token = issued.stdout.trim().split('\n').at(-1) as string;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
      const created = await fetch(`${url}/scim/v2/Users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ schemas: [USER], userName: 'kept@north.example' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };

      await stopServer(proc);
      ({ proc, url } = await startServer());
      const again = await fetch(`${url}/scim/v2/Users/${id}`, { headers });
      expect(again.status).toBe(200);
      expect(((await again.json()) as { userName: string }).userName).toBe('kept@north.example');
    } finally {
      await stopServer(proc);
    }
  }, 120_000);

  it('Should refuse a token for a tenant that does not exist, and an unknown scope', async () => {
    await expect(cli('token', '--tenant', 'nobody', '--scope', 'scim')).rejects.toMatchObject({
      stderr: expect.stringContaining('no tenant nobody'),
    });
    await cli('tenants', 'create', 'south');
    await expect(cli('token', '--tenant', 'south', '--scope', 'everything')).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown scope everything'),
    });
  }, 60_000);

  it('Should appoint a tenant its first main administrator, who then acts as one', async () => {
    const { proc, url } = await startServer();
    try {
      await cli('tenants', 'create', 'west');
      const issued = await cli('token', '--tenant', 'west', '--scope', 'scim');
      const token = issued.stdout.trim().split('\n').at(-1) as string;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
      const created = await fetch(`${url}/scim/v2/Users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ schemas: [USER], userName: 'boss@west.example' }),
      });
      const { id } = (await created.json()) as { id: string };

      const made = await cli('users', 'make-main-admin', '--tenant', 'west', 'BOSS@west.example');
      expect(made.stdout).toContain('boss@west.example is a main administrator');
      const seen = (await (
        await fetch(`${url}/scim/v2/Users/${id}`, { headers })
      ).json()) as Record<string, Record<string, unknown>>;
      expect(seen[CARE]).toMatchObject({ adminAccess: true, mainAdministrator: true });

      // Acting as that user, an admin token may now erase others (main administrators only).
      const victim = await fetch(`${url}/scim/v2/Users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ schemas: [USER], userName: 'leaver@west.example' }),
      });
      const victimId = ((await victim.json()) as { id: string }).id;
      const adminToken = (
        await cli('token', '--tenant', 'west', '--scope', 'admin', '--user', id)
      ).stdout
        .trim()
        .split('\n')
        .at(-1) as string;
      const erased = await fetch(`${url}/admin/v1/users/${victimId}/erase`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(erased.status).toBeLessThan(300);

      await expect(
        cli('users', 'make-main-admin', '--tenant', 'west', 'nobody@west.example'),
      ).rejects.toMatchObject({ stderr: expect.stringContaining('no user nobody@west.example') });
    } finally {
      await stopServer(proc);
    }
  }, 120_000);

  it('Should deactivate, reactivate, lock, unlock and erase an account from the command line', async () => {
    const { proc, url } = await startServer();
    try {
      await cli('tenants', 'create', 'east');
      const issued = await cli('token', '--tenant', 'east', '--scope', 'scim');
      const token = issued.stdout.trim().split('\n').at(-1) as string;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
      const created = await fetch(`${url}/scim/v2/Users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ schemas: [USER], userName: 'shift@east.example' }),
      });
      const { id } = (await created.json()) as { id: string };
      const read = async () =>
        (await (await fetch(`${url}/scim/v2/Users/${id}`, { headers })).json()) as {
          active: boolean;
          [key: string]: unknown;
        };

      expect(
        (await cli('users', 'deactivate', '--tenant', 'east', 'shift@east.example')).stdout,
      ).toContain('shift@east.example is inactive');
      expect((await read()).active).toBe(false);
      await cli('users', 'reactivate', '--tenant', 'east', 'shift@east.example');
      expect((await read()).active).toBe(true);
      await cli('users', 'lock', '--tenant', 'east', 'shift@east.example');
      expect((await read()).active).toBe(false);
      const locked = await fetch(
        `${url}/scim/v2/Users?filter=${encodeURIComponent(`${CARE}:status eq "locked"`)}`,
        { headers },
      );
      expect(((await locked.json()) as { totalResults: number }).totalResults).toBe(1);
      await cli('users', 'unlock', '--tenant', 'east', 'shift@east.example');
      expect((await read()).active).toBe(true);

      await expect(
        cli('users', 'erase', '--tenant', 'east', 'shift@east.example'),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('cannot be undone: add --yes'),
      });
      expect((await read()).active).toBe(true);
      await cli('users', 'erase', '--tenant', 'east', 'shift@east.example', '--yes');
      expect((await fetch(`${url}/scim/v2/Users/${id}`, { headers })).status).toBe(404);
    } finally {
      await stopServer(proc);
    }
  }, 120_000);

  it('Should clone a user, a staff member and a site, and list staff members and sites, from the command line', async () => {
    const { proc, url } = await startServer();
    try {
      await cli('tenants', 'create', 'south');
      const issued = await cli('token', '--tenant', 'south', '--scope', 'scim');
      const token = issued.stdout.trim().split('\n').at(-1) as string;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${url}/scim/v2${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
        });
        expect(res.status, await res.clone().text()).toBe(201);
        return (await res.json()) as { id: string; [key: string]: unknown };
      };
      const site = await post('/Sites', {
        schemas: [SITE],
        code: 'harbour',
        displayName: 'Harbour',
      });
      const staff = await post('/StaffMembers', {
        schemas: [STAFF],
        displayName: 'Night shift',
        centresOfCare: ['harbour'],
      });
      await post('/Users', {
        schemas: [USER, CARE],
        userName: 'nurse@south.example',
        [CARE]: {
          staffMembers: [{ value: staff.id }],
          roles: [{ site: 'harbour', role: 'staff' }],
        },
      });

      const cloned = await cli(
        'users',
        'clone',
        '--tenant',
        'south',
        'nurse@south.example',
        'nurse2@south.example',
      );
      expect(cloned.stdout).toContain('cloned nurse@south.example as nurse2@south.example');
      const found = await fetch(
        `${url}/scim/v2/Users?filter=${encodeURIComponent('userName eq "nurse2@south.example"')}`,
        { headers },
      );
      const clone = ((await found.json()) as { Resources: Record<string, unknown>[] }).Resources[0];
      expect(clone?.[CARE]).toMatchObject({ staffMembers: [{ value: staff.id }] });
      // A password is never an argument: only through a named environment variable.
      await expect(
        cli(
          'users',
          'clone',
          '--tenant',
          'south',
          'nurse@south.example',
          'nurse3@south.example',
          '--password-env',
          'CB_UNSET_PASSWORD',
        ),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('CB_UNSET_PASSWORD: the variable is not set'),
      });

      await cli('staff-members', 'clone', '--tenant', 'south', staff.id, 'Day shift');
      const staffList = (await cli('staff-members', 'list', '--tenant', 'south')).stdout;
      expect(
        staffList
          .trim()
          .split('\n')
          .map((l) => l.split('\t')[1]),
      ).toEqual(['Day shift', 'Night shift']);

      await cli('sites', 'clone', '--tenant', 'south', site.id, 'quay', 'Quay');
      const sites = (await cli('sites', 'list', '--tenant', 'south')).stdout;
      expect(sites).toContain('\tharbour\tHarbour');
      expect(sites).toContain('\tquay\tQuay');
      // The clone of a site keeps its staff: the staff members of Harbour work at Quay too.
      const night = await fetch(`${url}/scim/v2/StaffMembers/${staff.id}`, { headers });
      expect(((await night.json()) as { centresOfCare: string[] }).centresOfCare).toEqual([
        'harbour',
        'quay',
      ]);

      await expect(cli('sites', 'clone', '--tenant', 'south', site.id)).rejects.toMatchObject({
        stderr: expect.stringContaining('usage:'),
      });
    } finally {
      await stopServer(proc);
    }
  }, 120_000);
});
