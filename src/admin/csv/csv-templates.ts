import { ENTERPRISE_USER_SCHEMA } from '../../scim/schema-registry.ts';
import type { ImportMode } from './csv-columns.ts';

const PROFILE = [
  'name.givenName',
  'name.familyName',
  'displayName',
  'title',
  'externalId',
  `${ENTERPRISE_USER_SCHEMA}:employeeNumber`,
  `${ENTERPRISE_USER_SCHEMA}:department`,
];

/**
 * The downloadable template of each mode (seed 002: ImportUserTemplate.csv and
 * UpdateExistingUsersTemplate.csv): a header row only, so an unedited template imports
 * nothing. Create starts with email, username, language in that order; the other modes
 * start with `match`, the value of the field chosen to match users on.
 */
export function templateCSV(mode: ImportMode): string {
  const header =
    mode === 'create'
      ? ['email', 'username', 'language', ...PROFILE]
      : mode === 'update'
        ? ['match', 'email', 'language', ...PROFILE]
        : ['match'];
  return `${header.join(',')}\r\n`;
}

/** The file name a template downloads as. */
export function templateFileName(mode: ImportMode): string {
  return mode === 'create'
    ? 'ImportUserTemplate.csv'
    : `${mode[0]?.toUpperCase()}${mode.slice(1)}UsersTemplate.csv`;
}
