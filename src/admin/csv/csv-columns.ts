import type { UserInput, UserRecord } from '../../directory/user-record.ts';
import type { SCIMResource } from '../../scim/representation.ts';
import { normaliseResource } from '../../scim/resource-input.ts';
import { type AttrNode, resourceIndex, splitSchemaURN } from '../../scim/schema-index.ts';
import { type SchemaRegistry, USER_SCHEMA } from '../../scim/schema-registry.ts';
import { userInputFromSCIM } from '../../scim/user-input.ts';
import { ImportError } from './import-error.ts';

/** What an import does with each row. */
export type ImportMode = 'create' | 'update' | 'deactivate' | 'reactivate';
export const IMPORT_MODES: readonly ImportMode[] = ['create', 'update', 'deactivate', 'reactivate'];

/** The profile field update, deactivate and reactivate find users by (seed 002: "Match by"). */
export type MatchField = 'userName' | 'email' | 'externalId' | 'employeeNumber';
export const MATCH_FIELDS: readonly MatchField[] = [
  'userName',
  'email',
  'externalId',
  'employeeNumber',
];

/** One resolved column: a SCIM attribute (with a sub-attribute), or a pseudo-column. */
export type Column =
  | { kind: 'email' | 'userName' | 'language' | 'match'; header: string }
  | { kind: 'attribute'; header: string; urn: string | null; attr: AttrNode; sub?: AttrNode };

/** Header spellings of the three columns a create file starts with, in that order. */
const LEADING: { kind: 'email' | 'userName' | 'language'; names: string[] }[] = [
  { kind: 'email', names: ['email', 'primaryemail', 'emailaddress'] },
  { kind: 'userName', names: ['username'] },
  { kind: 'language', names: ['language', 'preferredlanguage'] },
];
// Carried by other columns or never imported: a spreadsheet of passwords is not a thing to keep.
const REFUSED = new Set(['id', 'meta', 'groups', 'password', 'schemas', 'emails']);

const squash = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');

/**
 * Resolves a header row: columns are SCIM attribute names (`displayName`, `name.givenName`),
 * extension attributes by their full URN path
 * (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`), plus
 * `email`, `username`, `language`, and `match` (the matched value) in the other modes.
 * A create file must start with email, username, language in that order (seed 002).
 * Any unknown or refused column refuses the whole file, before a row is written.
 */
export function resolveHeader(
  registry: SchemaRegistry,
  header: string[],
  mode: ImportMode,
  matchOn: MatchField,
): Column[] {
  const index = resourceIndex(registry, 'User');
  if (mode === 'create') {
    LEADING.forEach((lead, i) => {
      if (!lead.names.includes(squash(header[i] ?? ''))) {
        throw new ImportError(
          'badHeader',
          `a create file starts with the columns email, username, language in that order; column ${i + 1} is "${header[i] ?? ''}"`,
        );
      }
    });
  }
  const seen = new Set<string>();
  const columns = header.map((raw, i): Column => {
    const name = raw.trim();
    const key = squash(name);
    if (seen.has(name.toLowerCase())) {
      throw new ImportError('badHeader', `column "${name}" appears twice`);
    }
    seen.add(name.toLowerCase());
    if (mode === 'create' && i < 3)
      return { kind: (LEADING[i] as (typeof LEADING)[0]).kind, header: name };
    if (mode !== 'create' && (key === 'match' || key === squash(matchOn))) {
      return { kind: 'match', header: name };
    }
    if (LEADING[0]?.names.includes(key)) return { kind: 'email', header: name };
    if (key === 'username') return { kind: 'userName', header: name };
    if (LEADING[2]?.names.includes(key)) return { kind: 'language', header: name };
    return attributeColumn(index, name);
  });
  if (mode !== 'create') {
    const matches = columns.filter((c) => c.kind === 'match').length;
    if (matches !== 1) {
      throw new ImportError(
        'badHeader',
        `${article(mode)} ${mode} file has exactly one "match" column (or one named ${matchOn}) holding the ${matchOn} of each user`,
      );
    }
    if (mode !== 'update' && columns.length > 1) {
      throw new ImportError(
        'badHeader',
        `${article(mode)} ${mode} file holds only the match column; found ${columns.map((c) => c.header).join(', ')}`,
      );
    }
  }
  return columns;
}

function attributeColumn(index: ReturnType<typeof resourceIndex>, name: string): Column {
  const split = /^urn:/i.test(name) ? splitSchemaURN(index, name) : undefined;
  if (/^urn:/i.test(name) && (!split || split.rest === '')) {
    throw new ImportError('badHeader', `column "${name}" names no attribute of a User schema`);
  }
  const schema = split ? split.schema : index.core;
  const [attrName = '', subName, extra] = (split ? split.rest : name).split('.');
  const attr = schema.attributes.get(attrName.toLowerCase());
  const sub = subName === undefined ? undefined : attr?.subs?.get(subName.toLowerCase());
  const refused = !split && REFUSED.has(attrName.toLowerCase());
  if (!attr || refused || extra !== undefined || (subName !== undefined && !sub)) {
    throw new ImportError('badHeader', `column "${name}" is not an attribute a CSV can set`);
  }
  if (attr.def.mutability === 'readOnly' || sub?.def.mutability === 'readOnly') {
    throw new ImportError('badHeader', `column "${name}" is read-only`);
  }
  return {
    kind: 'attribute',
    header: name,
    urn: split ? split.schema.urn : null,
    attr,
    ...(sub ? { sub } : {}),
  };
}

/** Sets (or, for '', removes) one column's value in a SCIM resource being built. */
function applyCell(resource: SCIMResource, column: Column, cell: string): void {
  if (column.kind === 'match') return;
  if (column.kind === 'userName') {
    resource['userName'] = cell === '' ? undefined : cell;
    return;
  }
  if (column.kind === 'language') {
    if (cell === '') delete resource['preferredLanguage'];
    else resource['preferredLanguage'] = cell;
    return;
  }
  if (column.kind === 'email') {
    const emails = Array.isArray(resource['emails']) ? (resource['emails'] as SCIMResource[]) : [];
    const others = emails.filter((e) => e['primary'] !== true).map((e) => ({ ...e }));
    resource['emails'] =
      cell === '' ? others : [{ value: cell, type: 'work', primary: true }, ...others];
    return;
  }
  if (column.kind !== 'attribute') return;
  let container = resource;
  if (column.urn) {
    const ext = resource[column.urn];
    container = ext && typeof ext === 'object' ? { ...(ext as SCIMResource) } : {};
    resource[column.urn] = container;
  }
  const name = column.attr.name;
  if (!column.sub) {
    if (cell === '') delete container[name];
    else container[name] = column.attr.def.multiValued ? [cell] : cell;
    return;
  }
  // A sub-attribute column (`name.givenName`) sets it in the one complex value.
  const current = container[name];
  const complex = current && typeof current === 'object' ? { ...(current as SCIMResource) } : {};
  if (cell === '') delete complex[column.sub.name];
  else complex[column.sub.name] = cell;
  if (Object.keys(complex).length === 0) delete container[name];
  else container[name] = complex;
}

/** The SCIM User a create row describes, validated as a POST body would be. */
export function createInput(registry: SchemaRegistry, columns: Column[], row: string[]): UserInput {
  const resource: SCIMResource = { schemas: [USER_SCHEMA] };
  columns.forEach((column, i) => {
    const cell = row[i] ?? '';
    if (cell !== '') applyCell(resource, column, cell);
  });
  if (typeof resource['userName'] !== 'string') {
    throw new ImportError('badRow', 'the username cell is empty');
  }
  return userInputFromSCIM(withSchemas(registry, resource, 'create'));
}

/**
 * The account an update row leaves: the current account with each column's cell applied,
 * a blank cell removing the value (seed 002: "blank information will overwrite"),
 * validated as a PUT body would be.
 */
export function updateInput(
  registry: SchemaRegistry,
  columns: Column[],
  row: string[],
  current: UserRecord,
): UserInput {
  const resource: SCIMResource = {
    schemas: [USER_SCHEMA],
    userName: current.userName,
    ...structuredClone(current.attrs),
  };
  if (current.externalId !== null) resource['externalId'] = current.externalId;
  columns.forEach((column, i) => {
    applyCell(resource, column, row[i] ?? '');
  });
  if (typeof resource['userName'] !== 'string') {
    throw new ImportError('badRow', 'the username cell is empty');
  }
  return userInputFromSCIM(withSchemas(registry, resource, 'replace'), current);
}

function withSchemas(
  registry: SchemaRegistry,
  resource: SCIMResource,
  mode: 'create' | 'replace',
): SCIMResource {
  const schemas = [USER_SCHEMA];
  for (const key of Object.keys(resource)) if (key.startsWith('urn:')) schemas.push(key);
  return normaliseResource(registry, 'User', { ...resource, schemas }, { mode });
}

/** "an update file", "a create file". */
function article(mode: ImportMode): string {
  return mode === 'update' ? 'an' : 'a';
}
