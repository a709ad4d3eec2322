import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { createDirectory, type Directory } from './directory/directory.ts';
import { DEFAULT_TENANT } from './directory/tenants.ts';
import { ApiTokens } from './keys/api-tokens.ts';
import { OAuthClients } from './keys/oauth-clients.ts';
import { SigningKeys } from './keys/signing-keys.ts';
import { scimRuleCompiler } from './scim/rule-compiler.ts';
import { loadSchemaRegistry } from './scim/schema-files.ts';
import type { SchemaRegistry } from './scim/schema-registry.ts';

/** Everything the doors need, built once per process from the config and the database. */
export interface Services {
  config: Config;
  db: Database;
  directory: Directory;
  keys: SigningKeys;
  tokens: ApiTokens;
  clients: OAuthClients;
  registry: SchemaRegistry;
}

/** Builds the services and makes sure the default tenant and a signing key exist. */
export async function createServices(config: Config, db: Database): Promise<Services> {
  const registry = loadSchemaRegistry();
  // Group rules are SCIM filters: the SCIM door's translator compiles them for the directory.
  const directory = createDirectory(db.pool, scimRuleCompiler(registry));
  const keys = new SigningKeys(db.orm, config.publicUrl);
  await keys.init();
  await directory.tenants.ensure(DEFAULT_TENANT);
  const tokens = new ApiTokens(db.pool, keys, config.tokenStatusCacheSeconds * 1000);
  return {
    config,
    db,
    directory,
    keys,
    tokens,
    clients: new OAuthClients(db.pool),
    registry,
  };
}
