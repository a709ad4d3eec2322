import { CARE_USER_SCHEMA } from '../care/care-extension.ts';
import { CARE_GROUP_SCHEMA } from './group-extension.ts';
import type { AttributeDef, SchemaRegistry } from './schema-registry.ts';
import type { SCIMError } from './scim-error.ts';
import { sqlLiteral } from './sql-params.ts';

/** The resource types stored in their own tables (docs/storage.md). */
export type ResourceTypeName = 'User' | 'Group' | 'StaffMember' | 'Site';

/** The SQL type a SCIM value is compared and sorted as. */
export type SQLValueType = 'text' | 'uuid' | 'boolean' | 'numeric' | 'timestamptz';

/** Where a value sits inside `attrs`; `null` steps are array hops. Lets equality use `@>`. */
export interface JSONLocation {
  root: string;
  steps: (string | null)[];
}

/** A single value readable in SQL: a column, an expression, or a typed read of `attrs`. */
export interface ScalarSQL {
  kind: 'scalar';
  def: AttributeDef;
  sql: string;
  valueType: SQLValueType;
  caseExact: boolean;
  nullable: boolean;
  /** True when the attribute has a non-empty value (RFC 7644 `pr`); never NULL. */
  present: string;
  json?: JSONLocation | undefined;
}

/** A singular complex attribute (`name`, `meta`, `manager`): only its members compare. */
export interface ObjectSQL {
  kind: 'object';
  def: AttributeDef;
  present: string;
  member(sub: AttributeDef): Target;
}

/** One element of a multi-valued attribute, inside the EXISTS that ranges over them. */
export interface ElementSet {
  member(sub: AttributeDef): Target;
  /** The element itself, for multi-valued simple attributes. */
  self: ScalarSQL | undefined;
  /** `EXISTS (…)`: some element satisfies `cond`, written over `member()`/`self`. */
  exists(cond: string): string;
}

/** A multi-valued attribute; `sub` is set when the path named one of its sub-attributes. */
export interface MultiSQL {
  kind: 'multi';
  def: AttributeDef;
  present: string;
  sub?: AttributeDef | undefined;
  elements(): ElementSet;
  /** The primary (else first) element's value, for sorting; undefined when unsupported. */
  primary?(sub: AttributeDef | undefined): ScalarSQL | undefined;
}

export type Target = ScalarSQL | ObjectSQL | MultiSQL;

/** What resolving a path needs: the schemas, the table alias and how to fail. */
export interface ResolveContext {
  registry: SchemaRegistry;
  resourceType: ResourceTypeName;
  alias: string;
  /** Builds the error for a path that cannot be used (invalidFilter, or invalidValue for sortBy). */
  fail(detail: string): SCIMError;
  /** A fresh alias for a sub-query, e.g. `scim_e3`. */
  nextAlias(prefix: string): string;
}

// A string that PostgreSQL's timestamptz input accepts without raising: stored values are
// checked before the cast so one odd row cannot turn a list into a 500.
const DATE_TIME_RE = sqlLiteral(
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$',
);

function jsonPresent(j: string): string {
  return `coalesce(${j} NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb), false)`;
}

function column(
  def: AttributeDef,
  sql: string,
  valueType: SQLValueType,
  nullable: boolean,
): ScalarSQL {
  let present = 'TRUE';
  if (nullable)
    present = valueType === 'text' ? `coalesce(${sql} <> '', false)` : `(${sql} IS NOT NULL)`;
  return { kind: 'scalar', def, sql, valueType, caseExact: def.caseExact, nullable, present };
}

/** A typed read of a JSON value `j` (with `text` its text form), NULL when absent or ill-typed. */
function jsonScalar(text: string, j: string, def: AttributeDef, json?: JSONLocation): ScalarSQL {
  let sql = text;
  let valueType: SQLValueType = 'text';
  if (def.type === 'boolean') {
    sql = `(CASE WHEN jsonb_typeof(${j}) = 'boolean' THEN (${j})::boolean END)`;
    valueType = 'boolean';
  } else if (def.type === 'integer' || def.type === 'decimal') {
    sql = `(CASE WHEN jsonb_typeof(${j}) = 'number' THEN (${j})::numeric END)`;
    valueType = 'numeric';
  } else if (def.type === 'dateTime') {
    sql = `(CASE WHEN jsonb_typeof(${j}) = 'string' AND ${text} ~ ${DATE_TIME_RE} THEN (${text})::timestamptz END)`;
    valueType = 'timestamptz';
  }
  return {
    kind: 'scalar',
    def,
    sql,
    valueType,
    caseExact: def.caseExact,
    nullable: true,
    present: jsonPresent(j),
    json,
  };
}

function jsonMember(
  ctx: ResolveContext,
  base: string,
  loc: JSONLocation | undefined,
  def: AttributeDef,
): Target {
  const key = sqlLiteral(def.name);
  const j = `${base}->${key}`;
  const here = loc && { root: loc.root, steps: [...loc.steps, def.name] };
  if (def.multiValued) return jsonMulti(ctx, j, here, def);
  if (def.type === 'complex') {
    return {
      kind: 'object',
      def,
      present: jsonPresent(j),
      member: (sub) => jsonMember(ctx, j, here, sub),
    };
  }
  return jsonScalar(`(${base}->>${key})`, j, def, here);
}

function jsonMulti(
  ctx: ResolveContext,
  arr: string,
  loc: JSONLocation | undefined,
  def: AttributeDef,
): MultiSQL {
  // A stored non-array (never written by us) reads as empty rather than raising an error.
  const elementsOf = `jsonb_array_elements(CASE WHEN jsonb_typeof(${arr}) = 'array' THEN ${arr} ELSE '[]'::jsonb END)`;
  const itemLoc = loc && { root: loc.root, steps: [...loc.steps, null] };
  const single: AttributeDef = { ...def, multiValued: false };
  const element = (
    v: string,
    sub: AttributeDef | undefined,
    withLoc: boolean,
  ): Target | undefined => {
    if (sub) return jsonMember(ctx, v, withLoc ? itemLoc : undefined, sub);
    return def.type === 'complex'
      ? undefined
      : jsonScalar(`(${v} #>> '{}')`, v, single, withLoc ? itemLoc : undefined);
  };
  return {
    kind: 'multi',
    def,
    present: jsonPresent(arr),
    elements() {
      const e = ctx.nextAlias('scim_e');
      return {
        member: (sub) => element(`${e}.v`, sub, true) as Target,
        self: element(`${e}.v`, undefined, true) as ScalarSQL | undefined,
        exists: (cond) => `EXISTS (SELECT 1 FROM ${elementsOf} AS ${e}(v) WHERE ${cond})`,
      };
    },
    primary(sub) {
      const e = ctx.nextAlias('scim_e');
      const value = element(`${e}.v`, sub, false);
      if (value?.kind !== 'scalar') return undefined;
      // RFC 7644 §3.4.2.3: the primary value if any, else the first one.
      const sql = `(SELECT ${value.sql} FROM ${elementsOf} WITH ORDINALITY AS ${e}(v, n)
        ORDER BY coalesce(${e}.v->'primary' = 'true'::jsonb, false) DESC, ${e}.n LIMIT 1)`;
      return { ...value, sql, nullable: true, json: undefined };
    },
  };
}

/** `groups` of a User or `members` of a Group: rows of group_members, never JSON. */
function memberships(ctx: ResolveContext, def: AttributeDef, side: 'user' | 'group'): MultiSQL {
  const a = ctx.alias;
  const own = side === 'user' ? 'user_id' : 'group_id';
  const other = side === 'user' ? 'group_id' : 'user_id';
  const scope = (gm: string) => `${gm}.${own} = ${a}.id AND ${gm}.tenant_id = ${a}.tenant_id`;
  return {
    kind: 'multi',
    def,
    present: `EXISTS (SELECT 1 FROM group_members scim_gm WHERE ${scope('scim_gm')})`,
    elements() {
      const gm = ctx.nextAlias('scim_gm');
      const j = ctx.nextAlias('scim_j');
      let joined = false;
      const member = (sub: AttributeDef): Target => {
        switch (sub.name) {
          case 'value':
            return column(sub, `${gm}.${other}`, 'uuid', false);
          case 'display':
            joined = true;
            return column(
              sub,
              side === 'user'
                ? `${j}.display_name`
                : `coalesce(${j}.attrs->>'displayName', ${j}.user_name)`,
              'text',
              false,
            );
          case 'type':
            return column(sub, side === 'user' ? `'direct'::text` : `'User'::text`, 'text', false);
          default:
            throw ctx.fail(`${def.name}.${sub.name} cannot be used in a filter`);
        }
      };
      return {
        member,
        self: undefined,
        exists(cond) {
          // Only join the other table when `display` was used: `value` alone is an index probe.
          let join = '';
          if (joined) {
            join =
              side === 'user'
                ? ` JOIN groups ${j} ON ${j}.id = ${gm}.group_id`
                : ` JOIN users ${j} ON ${j}.id = ${gm}.user_id`;
          }
          return `EXISTS (SELECT 1 FROM group_members ${gm}${join} WHERE ${scope(gm)} AND (${cond}))`;
        },
      };
    },
  };
}

function meta(ctx: ResolveContext, def: AttributeDef): ObjectSQL {
  const a = ctx.alias;
  return {
    kind: 'object',
    def,
    present: 'TRUE',
    member(sub) {
      switch (sub.name) {
        case 'created':
          return column(sub, `${a}.created_at`, 'timestamptz', false);
        case 'lastModified':
          return column(sub, `${a}.updated_at`, 'timestamptz', false);
        case 'resourceType':
          return column(sub, `${sqlLiteral(ctx.resourceType)}::text`, 'text', false);
        case 'version':
          return column(sub, `('W/"' || ${a}.version || '"')`, 'text', false);
        default:
          throw ctx.fail(`meta.${sub.name} cannot be used in a filter or sortBy`);
      }
    },
  };
}

/** A top-level attribute: the columns of docs/storage.md, else its place in `attrs`. */
function topLevel(
  ctx: ResolveContext,
  def: AttributeDef,
  extensionUrn: string | undefined,
): Target {
  const a = ctx.alias;
  if (extensionUrn === undefined) {
    const user = ctx.resourceType === 'User';
    switch (def.name) {
      case 'id':
        return column(def, `${a}.id`, 'uuid', false);
      case 'externalId':
        return column(def, `${a}.external_id`, 'text', true);
      case 'meta':
        return meta(ctx, def);
      case 'userName':
        if (user) return column(def, `${a}.user_name`, 'text', false);
        break;
      case 'active':
        if (user) return column(def, `(${a}.status = 'active')`, 'boolean', false);
        break;
      case 'groups':
        if (user) return memberships(ctx, def, 'user');
        break;
      case 'displayName':
        if (!user) return column(def, `${a}.display_name`, 'text', false);
        break;
      case 'members':
        if (!user) return memberships(ctx, def, 'group');
        break;
    }
  }
  // The Group extension's rule and kind are columns of groups (docs/storage.md).
  if (ctx.resourceType === 'Group' && extensionUrn === CARE_GROUP_SCHEMA) {
    if (def.name === 'rule') return column(def, `${a}.rule`, 'text', true);
    if (def.name === 'kind') return column(def, `${a}.kind`, 'text', false);
  }
  // The care extension's read-only `status` is the lifecycle column itself (docs/storage.md).
  if (ctx.resourceType === 'User' && extensionUrn === CARE_USER_SCHEMA && def.name === 'status') {
    return column(def, `${a}.status`, 'text', false);
  }
  const base =
    extensionUrn === undefined ? `${a}.attrs` : `${a}.attrs->${sqlLiteral(extensionUrn)}`;
  const loc = { root: `${a}.attrs`, steps: extensionUrn === undefined ? [] : [extensionUrn] };
  return jsonMember(ctx, base, loc, def);
}

function usable(ctx: ResolveContext, def: AttributeDef, path: string): void {
  // A write-only attribute (password) must never become an oracle through filter or sort.
  if (def.returned === 'never') throw ctx.fail(`"${path}" is write-only and cannot be used here`);
}

/** A sub-attribute of a resolved attribute. */
export function memberOf(
  ctx: ResolveContext,
  parent: Target,
  sub: AttributeDef,
  path: string,
): Target {
  usable(ctx, sub, path);
  if (parent.kind === 'object') return parent.member(sub);
  if (parent.kind === 'multi') return { ...parent, sub };
  throw ctx.fail(`"${path}" has no sub-attributes`);
}

/**
 * Resolves an attribute path (`userName`, `name.givenName`, `emails.value`, or a full URN
 * path such as `urn:…:enterprise:2.0:User:manager.value`) case-insensitively to its SQL.
 * @see RFC 7644 §3.10
 */
export function resolvePath(ctx: ResolveContext, path: string): Target {
  const r = ctx.registry.resolve(ctx.resourceType, path);
  if (!r) throw ctx.fail(`unknown attribute "${path}" for ${ctx.resourceType}`);
  usable(ctx, r.attribute, path);
  const top = topLevel(ctx, r.attribute, r.extension ? r.schema : undefined);
  return r.subAttribute ? memberOf(ctx, top, r.subAttribute, path) : top;
}

/** Resolves a name inside `attr[…]`, relative to the complex attribute `parent`. */
export function resolveRelative(
  ctx: ResolveContext,
  parent: AttributeDef,
  member: (sub: AttributeDef) => Target,
  name: string,
): Target {
  const sub = ctx.registry.subAttribute(parent, name);
  if (!sub) throw ctx.fail(`unknown attribute "${parent.name}.${name}"`);
  usable(ctx, sub, `${parent.name}.${name}`);
  return member(sub);
}

/** A counter-based alias generator for one statement. */
export function aliasGenerator(): (prefix: string) => string {
  let n = 0;
  return (prefix) => `${prefix}${++n}`;
}
