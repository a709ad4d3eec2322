import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Directory } from './0001-directory.ts';
import { Migration0002GroupRules } from './0002-group-rules.ts';
import { Migration0003Sso } from './0003-sso.ts';
import { Migration0004Care } from './0004-care.ts';
import { Migration0005ImportRuns } from './0005-import-runs.ts';
import { Migration0006GroupMemberKeys } from './0006-group-member-keys.ts';

/** Every migration, in order. Applied at start; each runs once. */
export const migrations: MigrationObject[] = [
  { name: '0001-directory', class: Migration0001Directory },
  { name: '0002-group-rules', class: Migration0002GroupRules },
  { name: '0003-sso', class: Migration0003Sso },
  { name: '0004-care', class: Migration0004Care },
  { name: '0005-import-runs', class: Migration0005ImportRuns },
  { name: '0006-group-member-keys', class: Migration0006GroupMemberKeys },
];
