/**
 * The bench's baseline: the least a Hono handler on @hono/node-server can do per request
 * against the same database, one indexed SELECT by primary key (or one INSERT) through
 * `pg`. Started by bench/run.ts as its own process, like carebridge.
 *
 * Env: PORT; BARE_DATABASE_URL, or BARE_PG_HOST (a Unix socket directory, for PGlite);
 * BARE_POOL_SIZE (default 20, carebridge's own pool size).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';

const port = Number(process.env['PORT'] ?? 0);
const poolSize = Number(process.env['BARE_POOL_SIZE'] ?? 20);
const url = process.env['BARE_DATABASE_URL'];
const socketHost = process.env['BARE_PG_HOST'];
if (!url && !socketHost) throw new Error('set BARE_DATABASE_URL or BARE_PG_HOST');

const pool = new pg.Pool(
  url
    ? { connectionString: url, max: poolSize }
    : { host: socketHost, port: 5432, user: 'postgres', database: 'postgres', max: poolSize },
);

// A row shaped roughly like a user: a uuid key, an indexed name, a JSON document.
await pool.query(`
  create table if not exists bench_bare (
    id uuid primary key,
    user_name text not null,
    data jsonb not null,
    created_at timestamptz not null default now()
  )`);
await pool.query('create table if not exists bench_bare_insert (like bench_bare including all)');
const { rows: countRows } = await pool.query<{ n: number }>(
  'select count(*)::int as n from bench_bare',
);
if ((countRows[0]?.n ?? 0) === 0) {
  await pool.query(`
    insert into bench_bare (id, user_name, data)
    select gen_random_uuid(), 'bare.user.' || g || '@example.org',
           jsonb_build_object('displayName', 'Bare User ' || g, 'active', true, 'department', 'Care')
    from generate_series(1, 10000) g`);
  await pool.query('analyze bench_bare');
}

const app = new Hono();

app.get('/healthz', (c) => c.json({ ok: true }));

app.get('/ids', async (c) => {
  const { rows } = await pool.query<{ id: string }>('select id from bench_bare');
  return c.json(rows.map((r) => r.id));
});

app.get('/select/:id', async (c) => {
  const { rows } = await pool.query(
    'select id, user_name, data, created_at from bench_bare where id = $1',
    [c.req.param('id')],
  );
  if (!rows[0]) return c.json({ error: 'not_found' }, 404);
  return c.json(rows[0]);
});

app.post('/insert', async (c) => {
  const body = await c.req.json<{ userName?: string }>();
  const { rows } = await pool.query(
    `insert into bench_bare_insert (id, user_name, data) values (gen_random_uuid(), $1, $2)
     returning id, user_name, data, created_at`,
    [body.userName ?? 'nobody', body],
  );
  return c.json(rows[0], 201);
});

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`bare server listening on http://127.0.0.1:${info.port}`);
});

process.on('SIGTERM', () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
});
