import { resolve } from 'node:path';
import { z } from 'zod';

/** Everything carebridge reads from its environment, validated once at boot. */
export interface Config {
  port: number;
  /** PostgreSQL URL; unset means the embedded PGlite database under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** The issuer of the tokens carebridge signs and the base of absolute URLs it writes. */
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest SCIM request body accepted, in bytes (RFC 7644 §3.7 maxPayloadSize). */
  maxPayloadBytes: number;
  /** Largest page a list may return (RFC 7644 §3.4.2.4: the server may cap `count`). */
  maxPageSize: number;
  /** Most operations one /Bulk request may carry. */
  bulkMaxOperations: number;
  /** Seconds a token's revoked/suspended state may be cached by one process. */
  tokenStatusCacheSeconds: number;
  /** A JSON file of SSO connections applied at start (infrastructure as code); unset: none. */
  ssoConfigFile: string | undefined;
}

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SCIM_MAX_PAYLOAD_BYTES: z.coerce.number().int().positive().default(1_048_576),
  SCIM_MAX_PAGE_SIZE: z.coerce.number().int().positive().max(10_000).default(1000),
  SCIM_BULK_MAX_OPERATIONS: z.coerce.number().int().positive().default(1000),
  TOKEN_STATUS_CACHE_SECONDS: z.coerce.number().int().min(0).default(5),
  SSO_CONFIG_FILE: z.string().min(1).optional(),
});

/** Thrown when the environment is invalid; lists every bad field. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}

/** Parses `env` (defaults to `process.env`); the only reader of the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.DATA_DIR),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    maxPayloadBytes: e.SCIM_MAX_PAYLOAD_BYTES,
    maxPageSize: e.SCIM_MAX_PAGE_SIZE,
    bulkMaxOperations: e.SCIM_BULK_MAX_OPERATIONS,
    tokenStatusCacheSeconds: e.TOKEN_STATUS_CACHE_SECONDS,
    ssoConfigFile: e.SSO_CONFIG_FILE === undefined ? undefined : resolve(e.SSO_CONFIG_FILE),
  };
}
