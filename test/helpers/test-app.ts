import { type Logger, pino } from 'pino';
import { createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { DEFAULT_TENANT } from '../../src/directory/tenants.ts';
import type { Scope } from '../../src/keys/api-tokens.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const SCIM_BASE = 'http://carebridge.test/scim/v2';

/** A response whose JSON body tests read as free-form data. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies in tests are arbitrary JSON
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

/** Sends a request straight to the app (no token added). */
export function rawRequest(
  app: ReturnType<typeof createApp>,
  path: string,
  init?: RequestInit,
): Promise<TestResponse> {
  return Promise.resolve(app.request(`http://carebridge.test${path}`, init));
}

/** A carebridge app on a database of its own, as one test file needs it. */
export interface TestApp {
  app: ReturnType<typeof createApp>;
  services: Services;
  database: TestDatabase;
  /** A token of the default tenant (scope `scim` unless given). */
  token(opts?: { tenant?: string; scopes?: Scope[]; userId?: string }): Promise<string>;
  /** Sends a request to the app; JSON bodies are sent as application/scim+json. */
  request(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function createTestApp(
  overrides: Partial<Config> = {},
  opts: { log?: Logger } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const config: Config = {
    ...loadConfig({
      PUBLIC_URL: 'http://carebridge.test',
      LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    }),
    tokenStatusCacheSeconds: 0,
    ...overrides,
  };
  const services = await createServices(config, database.db);
  const app = createApp(
    services,
    opts.log ?? pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
  );
  let defaultToken: string | undefined;

  const token: TestApp['token'] = async (opts = {}) => {
    const tenantName = opts.tenant ?? DEFAULT_TENANT;
    const { tenant } = await services.directory.tenants.ensure(tenantName);
    const issued = await services.tokens.issue({
      tenantId: tenant.id,
      scopes: opts.scopes ?? ['scim'],
      name: 'test',
      userId: opts.userId ?? null,
    });
    return issued.token;
  };

  return {
    app,
    services,
    database,
    token,
    async request(method, path, opts = {}) {
      let bearer = opts.token;
      if (bearer === undefined) {
        defaultToken ??= await token();
        bearer = defaultToken;
      }
      const headers: Record<string, string> = {
        authorization: `Bearer ${bearer}`,
        ...opts.headers,
      };
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/scim+json';
      }
      const url = path.startsWith('http') ? path : `http://carebridge.test${path}`;
      return app.request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      }) as Promise<TestResponse>;
    },
    async close() {
      await database.drop();
    },
  };
}
