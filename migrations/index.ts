import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Directory } from './0001-directory.ts';

/** Every migration, in order. Applied at start; each runs once. */
export const migrations: MigrationObject[] = [
  { name: '0001-directory', class: Migration0001Directory },
];
