import type pg from 'pg';
import { GroupDirectory } from './groups.ts';
import { Tenants } from './tenants.ts';
import { UserDirectory } from './users.ts';

/** The directory service: the one write path every door goes through. */
export interface Directory {
  tenants: Tenants;
  users: UserDirectory;
  groups: GroupDirectory;
}

export function createDirectory(pool: pg.Pool): Directory {
  return {
    tenants: new Tenants(pool),
    users: new UserDirectory(pool),
    groups: new GroupDirectory(pool),
  };
}
