import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../helpers/test-database.ts';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

let dir: string;
let env: NodeJS.ProcessEnv;
let dropDatabase: (() => Promise<void>) | undefined;

const cli = (...args: string[]) => run(TSX, ['src/cli/main.ts', ...args], { env });
/** Runs the CLI and returns its outcome whatever the exit code. */
async function outcome(...args: string[]) {
  try {
    const { stdout, stderr } = await cli(...args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cb-import-cli-'));
  env = { ...process.env, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
  const serverUrl = process.env['DATABASE_URL'];
  if (serverUrl) {
    const scratch = await createScratchDatabase(serverUrl, 'cb_import_cli');
    env['DATABASE_URL'] = scratch.url;
    dropDatabase = scratch.drop;
  }
  await cli('tenants', 'create', 'north');
}, 120_000);

afterAll(async () => {
  await dropDatabase?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run cli -- import', () => {
  it('Should create users with a progress bar on stderr, and change nothing on a second run', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => `u${i}@north.example,u${i},en,Carer`);
    const path = file('create.csv', `email,username,language,title\n${rows.join('\n')}\n`);
    const first = await outcome('import', '--tenant', 'north', '--mode', 'create', path);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ rows: 1200, created: 1200, failed: 0 });
    expect(first.stderr).toMatch(/\[#+\] 100% 1200 rows, 0 failed/);

    const second = await outcome('import', '--tenant', 'north', '--mode', 'create', path);
    expect(JSON.parse(second.stdout)).toMatchObject({ created: 0, unchanged: 1200 });

    // Both runs are recorded, newest first, and one can be read back whole.
    const list = await outcome('imports', 'list', '--tenant', 'north');
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(JSON.parse(second.stdout).id);
    expect(lines[0]).toMatch(/\tdone\tcreate\trows=1200\tcreated=0\t.*\tcreate\.csv$/);
    const shown = await outcome(
      'imports',
      'show',
      '--tenant',
      'north',
      JSON.parse(first.stdout).id,
    );
    expect(JSON.parse(shown.stdout)).toMatchObject({
      status: 'done',
      created: 1200,
      fileName: 'create.csv',
      actor: { type: 'cli' },
    });
    expect((await outcome('imports', 'show', '--tenant', 'north', 'nope')).code).toBe(2);
  }, 120_000);

  it('Should update and deactivate matched users, exiting 1 and listing the rows that failed', async () => {
    const update = file('update.csv', 'match,title\nu1,Nurse\nu9999,Nurse\n');
    const res = await outcome('import', '--tenant', 'north', '--mode', 'update', update);
    expect(res.code).toBe(1);
    const result = JSON.parse(res.stdout);
    expect(result).toMatchObject({ updated: 1, failed: 1 });
    expect(result.failures).toEqual([{ line: 3, reason: 'no user has userName u9999' }]);

    const off = file('off.csv', 'match\nu2@north.example\n');
    const deactivated = await outcome(
      'import',
      '--tenant',
      'north',
      '--mode',
      'deactivate',
      '--match-on',
      'email',
      off,
    );
    expect(JSON.parse(deactivated.stdout)).toMatchObject({ updated: 1, failed: 0 });
  }, 120_000);

  it('Should refuse a wrong column order, an unknown tenant and a file over the limit with exit 2', async () => {
    const wrong = file('wrong.csv', 'username,email,language\nx,x@north.example,en\n');
    const header = await outcome('import', '--tenant', 'north', '--mode', 'create', wrong);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('email, username, language in that order');

    const tenant = await outcome('import', '--tenant', 'nowhere', '--mode', 'create', wrong);
    expect(tenant.code).toBe(2);
    expect(tenant.stderr).toContain('no tenant nowhere');

    const big = file(
      'big.csv',
      `email,username,language\n${'a@b.example,a,en\n'.repeat(1_400_000)}`,
    );
    const tooLarge = await outcome('import', '--tenant', 'north', '--mode', 'create', big);
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toContain('larger than the import limit of 20 MB');
  }, 120_000);
});
