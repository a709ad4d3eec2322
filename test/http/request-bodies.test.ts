import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LIMIT = 64 * 1024;

/**
 * SCIM bodies over a real socket, as Okta and Entra send them: sized bodies are read
 * straight off the socket, chunked ones are counted as they arrive. Both stop at the
 * payload limit.
 */
describe('SCIM request bodies over HTTP', () => {
  let t: TestApp;
  let server: Server;
  let port: number;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({ maxPayloadBytes: LIMIT });
    server = createServer(getRequestListener(t.app.fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    token = await t.token();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.close();
  });

  /** Sends a request; `chunks` are written one by one (chunked unless a length is set). */
  function send(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; chunks?: () => Iterable<string> } = {},
  ): Promise<{ status: number; body: string; written: number }> {
    return new Promise((resolve, reject) => {
      let written = 0;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/scim+json',
            ...opts.headers,
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, written }));
        },
      );
      // The server may answer and close before the whole body went out.
      req.on('error', (err) => (written > 0 ? undefined : reject(err)));
      const write = async () => {
        for (const chunk of opts.chunks?.() ?? []) {
          if (req.destroyed) return;
          written += Buffer.byteLength(chunk);
          if (!req.write(chunk))
            await new Promise<void>((r) => {
              const done = () => {
                req.off('drain', done);
                req.off('close', done);
                r();
              };
              req.on('drain', done);
              req.on('close', done);
            });
        }
        req.end();
      };
      void write();
    });
  }

  it('Should create a user from a body with Content-Length and read it back', async () => {
    const body = JSON.stringify({ schemas: [USER], userName: 'sized.body@example.org' });
    const created = await send('POST', '/scim/v2/Users', {
      headers: { 'content-length': String(Buffer.byteLength(body)) },
      chunks: () => [body],
    });
    expect(created.status).toBe(201);
    const { id } = JSON.parse(created.body);
    const read = await send('GET', `/scim/v2/Users/${id}`);
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body).userName).toBe('sized.body@example.org');
  });

  it('Should refuse a declared Content-Length over the limit with 413 and create nothing', async () => {
    const body = JSON.stringify({
      schemas: [USER],
      userName: 'too.big@example.org',
      nickName: 'x'.repeat(LIMIT),
    });
    const res = await send('POST', '/scim/v2/Users', {
      headers: { 'content-length': String(Buffer.byteLength(body)) },
      chunks: () => [body],
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).detail).toContain('larger than');
    const list = await send(
      'GET',
      '/scim/v2/Users?filter=userName%20eq%20%22too.big@example.org%22',
    );
    expect(JSON.parse(list.body).totalResults).toBe(0);
  });

  it('Should cut off a chunked body at the limit with 413, without reading it all', async () => {
    const piece = `"${'x'.repeat(16 * 1024)}",`;
    const res = await send('POST', '/scim/v2/Users', {
      chunks: function* () {
        yield `{"schemas":["${USER}"],"userName":"chunked.big@example.org","junk":[`;
        for (let i = 0; i < 4096; i++) yield piece; // 64 MB unless the server stops reading
        yield '""]}';
      },
    });
    expect(res.status).toBe(413);
    expect(res.written).toBeLessThan(8 * 1024 * 1024);
    const list = await send(
      'GET',
      '/scim/v2/Users?filter=userName%20eq%20%22chunked.big@example.org%22',
    );
    expect(JSON.parse(list.body).totalResults).toBe(0);
  });

  it('Should create a user from a chunked body under the limit', async () => {
    const body = JSON.stringify({ schemas: [USER], userName: 'chunked.small@example.org' });
    const res = await send('POST', '/scim/v2/Users', {
      chunks: () => [body.slice(0, 10), body.slice(10)],
    });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).userName).toBe('chunked.small@example.org');
  });
});
