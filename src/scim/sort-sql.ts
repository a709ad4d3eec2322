import {
  aliasGenerator,
  type ResolveContext,
  type ResourceTypeName,
  resolvePath,
  type ScalarSQL,
  type SQLValueType,
} from './attribute-sql.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { invalidValue } from './scim-error.ts';
import { checkAlias } from './sql-params.ts';

/** A resolved sort: the value to order by, its direction, and the unique `id` tiebreaker. */
export interface SortSpec {
  /** What the sort is over, for binding cursors to it: `id` or the canonical path. */
  key: string;
  /** SQL of the sort value; undefined when sorting by `id` alone. */
  expr: string | undefined;
  valueType: SQLValueType;
  nullable: boolean;
  descending: boolean;
  /** `<table alias>.id`, the last ORDER BY term so every order is total and stable. */
  idColumn: string;
  /** The ORDER BY list (without the keywords). */
  orderBy: string;
}

export interface SortSQLOptions {
  alias: string;
}

/**
 * Translates `sortBy`/`sortOrder` into an ORDER BY over the resource table. Strings that
 * are not caseExact sort by `lower()`; a multi-valued attribute sorts by its primary
 * value, else its first (for User `emails`, the stored `primary_email`); resources
 * without a value come last ascending and first descending; `id` always breaks ties.
 *
 * An unknown, complex or write-only `sortBy` is refused with 400 invalidValue rather than
 * ignored: RFC 7644 lets a server ignore sorting it cannot do, but a client asking for an
 * order it will not get deserves to hear so.
 * @see RFC 7644 §3.4.2.3
 */
export function sortToSQL(
  registry: SchemaRegistry,
  resourceType: ResourceTypeName,
  sortBy: string | undefined,
  sortOrder: string | undefined,
  opts: SortSQLOptions,
): SortSpec {
  const alias = checkAlias(opts.alias);
  const descending = parseSortOrder(sortOrder);
  const idColumn = `${alias}.id`;
  const dir = descending ? 'DESC' : 'ASC';
  const byId: SortSpec = {
    key: 'id',
    expr: undefined,
    valueType: 'uuid',
    nullable: false,
    descending,
    idColumn,
    orderBy: `${idColumn} ${dir}`,
  };
  if (sortBy === undefined || sortBy.trim() === '')
    return { ...byId, descending: false, orderBy: `${idColumn} ASC` };
  const ctx: ResolveContext = {
    registry,
    resourceType,
    alias,
    fail: (detail) => invalidValue(`cannot sort by "${sortBy}": ${detail}`),
    nextAlias: aliasGenerator(),
  };
  const value = sortValue(ctx, sortBy.trim());
  if (value.valueType === 'uuid' && value.sql === idColumn) return byId;
  const expr = value.valueType === 'text' && !value.caseExact ? `lower(${value.sql})` : value.sql;
  const canonical = registry.resolve(resourceType, sortBy.trim());
  return {
    key: canonical ? canonicalPath(canonical) : sortBy,
    expr,
    valueType: value.valueType,
    nullable: value.nullable,
    descending,
    idColumn,
    // Spelled out although they are PostgreSQL's defaults: the keyset condition relies on them.
    orderBy: `${expr} ${dir} ${descending ? 'NULLS FIRST' : 'NULLS LAST'}, ${idColumn} ${dir}`,
  };
}

function sortValue(ctx: ResolveContext, path: string): ScalarSQL {
  const target = resolvePath(ctx, path);
  if (target.kind === 'scalar') return target;
  if (target.kind === 'object') {
    const example = target.def.subAttributes?.[0]?.name ?? 'value';
    throw ctx.fail(
      `it is complex; sort by one of its sub-attributes, e.g. ${target.def.name}.${example}`,
    );
  }
  const sub =
    target.sub ??
    (target.def.type === 'complex' ? ctx.registry.subAttribute(target.def, 'value') : undefined);
  // primary_email already holds the primary-or-first email value, indexed and typed.
  if (ctx.resourceType === 'User' && target.def.name === 'emails' && sub?.name === 'value') {
    return {
      ...(target.elements().member(sub) as ScalarSQL),
      sql: `${ctx.alias}.primary_email`,
      json: undefined,
    };
  }
  const value = target.primary?.(sub);
  if (!value) throw ctx.fail('this multi-valued attribute cannot be sorted');
  return value;
}

function canonicalPath(r: NonNullable<ReturnType<SchemaRegistry['resolve']>>): string {
  const name = r.subAttribute ? `${r.attribute.name}.${r.subAttribute.name}` : r.attribute.name;
  return r.extension ? `${r.schema}:${name}` : name;
}

/** `ascending` (the default) or `descending`, case-insensitively. @see RFC 7644 §3.4.2.3 */
export function parseSortOrder(sortOrder: string | undefined): boolean {
  const order = sortOrder?.trim().toLowerCase() ?? '';
  if (order === '' || order === 'ascending') return false;
  if (order === 'descending') return true;
  throw invalidValue(`sortOrder must be "ascending" or "descending", not "${sortOrder}"`);
}

/**
 * SQL giving the sort value as exact text for a cursor: timestamps to the microsecond in
 * UTC (a JavaScript Date would lose the microseconds and repeat rows), numbers unrounded.
 */
export function sortKeyText(spec: SortSpec): string | undefined {
  if (!spec.expr) return undefined;
  switch (spec.valueType) {
    case 'timestamptz':
      return `to_char(${spec.expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    case 'text':
      return spec.expr;
    default:
      return `(${spec.expr})::text`;
  }
}
