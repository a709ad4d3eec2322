import type pg from 'pg';
import { type CareDirectory, createCareDirectory } from '../care/care-directory.ts';
import { GroupRules } from './group-rules.ts';
import { GroupDirectory } from './groups.ts';
import type { RuleCompiler } from './rule-sql.ts';
import { Tenants } from './tenants.ts';
import { UserDirectory } from './users.ts';

/** The directory service: the one write path every door goes through. */
export interface Directory {
  tenants: Tenants;
  users: UserDirectory;
  groups: GroupDirectory;
  /** Sites, staff members, the account lifecycle and cloning (src/care). */
  care: CareDirectory;
}

/** @param rules turns group rules (SCIM filters) into SQL; the SCIM door provides it. */
export function createDirectory(pool: pg.Pool, rules?: RuleCompiler): Directory {
  const users = new UserDirectory(pool);
  return {
    tenants: new Tenants(pool),
    users,
    groups: new GroupDirectory(pool, new GroupRules(pool, rules)),
    care: createCareDirectory(pool, users),
  };
}
