import { readFileSync } from 'node:fs';
import type { Services } from '../services.ts';
import { ConnectionFileSchema } from './connection-settings.ts';
import { SsoConnections } from './connections.ts';

/** Thrown when the SSO config file cannot be read or is invalid; lists every bad field. */
export class ConnectionFileError extends Error {}

/** Reads and validates a connections file (`SSO_CONFIG_FILE`): nothing is applied when any entry is bad. */
export function readConnectionFile(path: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConnectionFileError(`${path}: ${(err as Error).message}`);
  }
  const parsed = ConnectionFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConnectionFileError(
      `${path}:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return parsed.data.connections;
}

/**
 * Applies a connections file: each entry creates or replaces its tenant's connection of
 * that slug (the tenant is created when missing). Connections not in the file are kept.
 */
export async function applyConnectionFile(services: Services, path: string): Promise<string[]> {
  const entries = readConnectionFile(path);
  const connections = new SsoConnections(services.db.pool);
  const applied: string[] = [];
  for (const { tenant: name, ...input } of entries) {
    const { tenant } = await services.directory.tenants.ensure(name);
    await connections.put(
      { tenantId: tenant.id, actor: { type: 'system', id: 'sso-config-file' }, requestId: null },
      input,
    );
    applied.push(`${name}/${input.slug}`);
  }
  return applied;
}
