import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A child process whose output goes to a log file (printed when it fails). */
export interface Child {
  proc: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  logTail(lines?: number): string;
}

/**
 * Starts ONE node process with `args` (not a launcher such as `tsx` or `npm`, which fork
 * a second process: the RSS we sample and the SIGTERM we send must reach the server).
 */
function startNode(args: string[], env: NodeJS.ProcessEnv, logFile: string, cwd: string): Child {
  const log = createWriteStream(logFile);
  const proc = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  if (proc.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  return {
    proc,
    pid: proc.pid,
    logFile,
    exited,
    logTail(lines = 40) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}

/** Starts a TypeScript entry point of the bench (`node --import tsx entry`). */
export function startTS(
  entry: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  cwd: string,
): Child {
  return startNode(['--import', 'tsx', entry], env, logFile, cwd);
}

/** Starts carebridge as `npm start` does, with the node arguments of its start script. */
export function startCarebridge(env: NodeJS.ProcessEnv, logFile: string, cwd: string): Child {
  return startNode(npmStartArguments(cwd), env, logFile, cwd);
}

/** The arguments after `node` in package.json's start script. */
export function npmStartArguments(cwd: string): string[] {
  const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const [command, ...args] = (pkg.scripts?.['start'] ?? '').trim().split(/\s+/);
  if (command !== 'node') throw new Error(`the start script does not run node: ${command}`);
  return args;
}

/** Polls `url` until it answers 200; fails if the child exits or the time runs out. */
export async function waitReady(url: string, child: Child, timeoutMs: number): Promise<void> {
  let exitCode: number | null | undefined;
  void child.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${url}: the process exited (code ${exitCode}) before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const killed = await Promise.race([
    child.exited.then(() => false),
    sleep(graceMs).then(() => true),
  ]);
  if (killed) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/** Runs an npm script and returns its stdout; rejects with stderr on failure. */
export function runNpm(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['run', '--silent', ...args],
      { cwd, env, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(`npm run ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`),
          );
        else resolve(stdout);
      },
    );
  });
}

/** A throw-away PostgreSQL database created on the server of `baseUrl`. */
export interface ScratchDatabase {
  url: string;
  name: string;
  serverVersion: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(
  baseUrl: string,
  name: string,
): Promise<ScratchDatabase> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  let serverVersion: string;
  try {
    await admin.query(`create database ${name}`);
    const { rows } = await admin.query<{ server_version: string }>('show server_version');
    serverVersion = rows[0]?.server_version ?? '?';
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    serverVersion,
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * What autovacuum and the checkpointer do within minutes of a bulk load (the CI machine's
 * PostgreSQL runs with autovacuum off, and PGlite has none): flush the load's dirty pages,
 * collect statistics, set hint bits and the visibility map. Run between a write phase and
 * the read phases after it, so they measure reads, not the tail of the writes. Returns the
 * seconds it took.
 */
export async function settleDatabase(db: { url?: string; socketDir?: string }): Promise<number> {
  const started = performance.now();
  const client = new pg.Client(
    db.url
      ? { connectionString: db.url }
      : { host: db.socketDir, port: 5432, user: 'postgres', database: 'postgres' },
  );
  await client.connect();
  try {
    await client.query('vacuum (analyze)');
    await client.query('checkpoint');
  } finally {
    await client.end();
  }
  return (performance.now() - started) / 1000;
}
