import { UUID } from '../directory/uuid.ts';
import {
  aliasGenerator,
  type ResolveContext,
  type ResourceTypeName,
  resolvePath,
  resolveRelative,
  type ScalarSQL,
  type Target,
} from './attribute-sql.ts';
import { type CompareOp, type FilterNode, type FilterValue, parseFilter } from './filter-parser.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { invalidFilter } from './scim-error.ts';
import { checkAlias, type SQLFragment, SQLParams } from './sql-params.ts';

export type { ResourceTypeName } from './attribute-sql.ts';

export interface FilterSQLOptions {
  /** The alias of the resource table in the caller's statement, e.g. `u` for `users u`. */
  alias: string;
  /** How many `$n` parameters the statement already has: the first one here is `$offset+1`. */
  paramOffset?: number;
}

const SUBSTRING_OPS = new Set<CompareOp>(['co', 'sw', 'ew']);
const ORDERING_SQL: Record<'gt' | 'ge' | 'lt' | 'le', string> = {
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};

/**
 * Translates a SCIM filter into a parameterised SQL boolean expression over the `users` or
 * `groups` table. User input only ever travels as parameters. Semantics:
 * - attribute names are case-insensitive; strings compare case-insensitively unless the
 *   schema says `caseExact` (RFC 7643 §2.2), through `lower()` on both sides, which is
 *   what the `lower(user_name)` and `lower(display_name)` indexes expect;
 * - a multi-valued attribute matches when any element does; `attr[…]` needs one element
 *   to satisfy the whole bracket (RFC 7644 §3.4.2.2);
 * - `ne` and `not` match resources where the attribute is absent (two-valued logic);
 * - `eq null` means "not present", `ne null` means "present";
 * - booleans compare only with `eq`/`ne` (the strings "true"/"false" are accepted too, as
 *   Microsoft Entra sends them); numbers as numbers, dateTime values as timestamptz.
 * @see RFC 7644 §3.4.2.2
 * @throws SCIMError 400 invalidFilter for a malformed filter, an unknown or write-only
 *   attribute, or a value of the wrong type.
 */
export function filterToSQL(
  registry: SchemaRegistry,
  resourceType: ResourceTypeName,
  filter: string | FilterNode,
  opts: FilterSQLOptions,
): SQLFragment {
  const tree = typeof filter === 'string' ? parseFilter(filter) : filter;
  const params = new SQLParams(opts.paramOffset ?? 0);
  const ctx: ResolveContext = {
    registry,
    resourceType,
    alias: checkAlias(opts.alias),
    fail: invalidFilter,
    nextAlias: aliasGenerator(),
  };
  const translator = new Translator(ctx, params);
  const sql = translator.node(tree, (path) => resolvePath(ctx, path), false);
  return { sql, params: params.values };
}

class Translator {
  constructor(
    private readonly ctx: ResolveContext,
    private readonly params: SQLParams,
  ) {}

  /** `inElement`: inside `attr[…]`, where every test must be about the same element. */
  node(node: FilterNode, resolve: (path: string) => Target, inElement: boolean): string {
    switch (node.op) {
      case 'and':
      case 'or':
        return `(${node.terms.map((t) => this.node(t, resolve, inElement)).join(` ${node.op.toUpperCase()} `)})`;
      case 'not':
        // SQL's NULL would make `not` drop rows lacking the attribute; coalesce keeps logic two-valued.
        return `(NOT coalesce(${this.node(node.term, resolve, inElement)}, false))`;
      case 'present':
        return this.present(resolve(node.path));
      case 'compare':
        return this.compare(resolve(node.path), node.operator, node.value, node.path, inElement);
      case 'valuePath':
        return this.valuePath(resolve(node.path), node.filter, node.path);
    }
  }

  private valuePath(target: Target, filter: FilterNode, path: string): string {
    if (target.kind === 'multi' && !target.sub && target.def.type === 'complex') {
      const elements = target.elements();
      const def = target.def;
      const cond = this.node(
        filter,
        (p) => resolveRelative(this.ctx, def, elements.member, p),
        true,
      );
      return elements.exists(cond);
    }
    if (target.kind === 'object') {
      const def = target.def;
      return this.node(filter, (p) => resolveRelative(this.ctx, def, target.member, p), true);
    }
    throw invalidFilter(`"${path}[…]" needs a complex attribute`);
  }

  private present(target: Target): string {
    if (target.kind !== 'multi' || !target.sub) return target.present;
    const elements = target.elements();
    return elements.exists(this.present(elements.member(target.sub)));
  }

  private compare(
    target: Target,
    op: CompareOp,
    value: FilterValue,
    path: string,
    inElement: boolean,
  ): string {
    if (target.kind === 'scalar') return this.scalar(target, op, value, path, !inElement);
    if (target.kind === 'object') {
      const example = target.def.subAttributes?.[0]?.name ?? 'value';
      throw invalidFilter(
        `"${path}" is complex: compare one of its sub-attributes, e.g. ${path}.${example}`,
      );
    }
    // RFC 7644 §3.4.2.2: a multi-valued complex attribute without a sub-attribute means its `value`.
    const sub =
      target.sub ??
      (target.def.type === 'complex'
        ? this.ctx.registry.subAttribute(target.def, 'value')
        : undefined);
    if (target.def.type === 'complex' && !sub) {
      throw invalidFilter(`"${path}" is complex: compare one of its sub-attributes`);
    }
    const elements = target.elements();
    const inner = sub ? elements.member(sub) : elements.self;
    if (!inner) throw invalidFilter(`"${path}" cannot be compared`);
    if (inner.kind === 'scalar' && !inElement && op === 'eq') {
      const contained = this.containment(inner, op, value);
      if (contained) return contained;
    }
    return elements.exists(this.compare(inner, op, value, path, true));
  }

  /**
   * Exact equality on a value in `attrs` as `attrs @> {…}`, which the GIN index answers.
   * Only where it means the same as the typed comparison: case-exact strings, booleans and
   * numbers, and never inside `[…]` (containment cannot tie two tests to one element).
   */
  private containment(s: ScalarSQL, op: CompareOp, value: FilterValue): string | undefined {
    if (!s.json || value === null || (op !== 'eq' && op !== 'ne')) return undefined;
    let json: unknown;
    if (s.valueType === 'boolean' && typeof value === 'boolean') json = value;
    else if (
      s.valueType === 'numeric' &&
      typeof value === 'object' &&
      String(Number(value.number)) === value.number
    ) {
      json = Number(value.number);
    } else if (s.valueType === 'text' && s.caseExact && typeof value === 'string') json = value;
    else return undefined;
    if (op === 'ne' && s.json.steps.includes(null)) return undefined; // any-element `ne` is not "no element eq"
    for (const step of [...s.json.steps].reverse())
      json = step === null ? [json] : { [step]: json };
    const p = this.params.add(JSON.stringify(json));
    return op === 'eq'
      ? `(${s.json.root} @> ${p}::jsonb)`
      : `(NOT (${s.json.root} @> ${p}::jsonb))`;
  }

  private scalar(
    s: ScalarSQL,
    op: CompareOp,
    value: FilterValue,
    path: string,
    allowContainment: boolean,
  ): string {
    if (value === null) {
      if (op === 'eq') return `(NOT ${s.present})`;
      if (op === 'ne') return s.present;
      throw invalidFilter(`"${op} null" does not compare; use "${path} pr" or "not (${path} pr)"`);
    }
    const wrongType = () =>
      invalidFilter(
        `"${path}" is of type ${s.def.type}; ${JSON.stringify(value)} cannot be compared with it`,
      );
    const noSubstring = () => {
      if (SUBSTRING_OPS.has(op))
        throw invalidFilter(`"${op}" cannot compare the ${s.def.type} attribute "${path}"`);
    };
    const contained = allowContainment ? this.containment(s, op, value) : undefined;
    if (contained) return contained;
    switch (s.valueType) {
      case 'boolean': {
        const b =
          typeof value === 'string' ? { true: true, false: false }[value.toLowerCase()] : value;
        if (typeof b !== 'boolean') throw wrongType();
        // RFC 7644 §3.4.2.2: gt/ge/lt/le on a boolean is invalidFilter.
        if (op !== 'eq' && op !== 'ne')
          throw invalidFilter(`"${op}" cannot compare the boolean attribute "${path}"`);
        return this.cmp(s.sql, op, `${this.params.add(b)}::boolean`, s.nullable);
      }
      case 'numeric':
        if (typeof value !== 'object') throw wrongType();
        noSubstring();
        return this.cmp(s.sql, op, `${this.params.add(value.number)}::numeric`, s.nullable);
      case 'timestamptz': {
        if (typeof value !== 'string') throw wrongType();
        noSubstring();
        const iso = parseDateTime(value);
        if (!iso)
          throw invalidFilter(`"${value}" is not a valid dateTime (e.g. 2024-01-31T12:00:00Z)`);
        return this.cmp(s.sql, op, `${this.params.add(iso)}::timestamptz`, s.nullable);
      }
      case 'uuid':
        if (typeof value !== 'string') throw wrongType();
        if (op === 'eq' || op === 'ne') {
          // Not a UUID: no id can equal it, and casting it would make PostgreSQL raise.
          if (!UUID.test(value)) return op === 'eq' ? 'FALSE' : 'TRUE';
          return this.cmp(s.sql, op, `${this.params.add(value)}::uuid`, s.nullable);
        }
        return this.text(`${s.sql}::text`, op, value, false, s.nullable);
      case 'text':
        if (typeof value !== 'string') throw wrongType();
        if (s.def.type === 'binary' && op in ORDERING_SQL) {
          throw invalidFilter(`"${op}" cannot compare the binary attribute "${path}"`);
        }
        return this.text(s.sql, op, value, s.caseExact, s.nullable);
    }
  }

  private text(
    sql: string,
    op: CompareOp,
    value: string,
    caseExact: boolean,
    nullable: boolean,
  ): string {
    const fold = (x: string) => (caseExact ? x : `lower(${x})`);
    if (SUBSTRING_OPS.has(op)) {
      const pattern = `${op === 'sw' ? '' : '%'}${escapeLike(value)}${op === 'ew' ? '' : '%'}`;
      return `(${fold(sql)} LIKE ${fold(`${this.params.add(pattern)}::text`)} ESCAPE '\\')`;
    }
    return this.cmp(fold(sql), op, fold(`${this.params.add(value)}::text`), nullable);
  }

  private cmp(lhs: string, op: CompareOp, rhs: string, nullable: boolean): string {
    if (op === 'eq') return `(${lhs} = ${rhs})`;
    if (op === 'ne') return nullable ? `(${lhs} IS DISTINCT FROM ${rhs})` : `(${lhs} <> ${rhs})`;
    if (op in ORDERING_SQL)
      return `(${lhs} ${ORDERING_SQL[op as keyof typeof ORDERING_SQL]} ${rhs})`;
    throw invalidFilter(`"${op}" cannot compare this attribute`);
  }
}

/** Escapes LIKE's wildcards so `co "50%"` looks for a literal percent sign. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))?$/i;

/**
 * Checks an xsd:dateTime (RFC 7643 §2.3.5) strictly enough that PostgreSQL will accept it
 * (a 30 February would make it raise); a value without a zone is taken as UTC.
 * Returns the string to cast, or undefined when invalid.
 */
export function parseDateTime(value: string): string | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m
    .slice(1, 7)
    .map(Number);
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0); // day 0 of the next month (and no 1900 offset for years < 100)
  const valid =
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= lastDay.getUTCDate() &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    (m[9] === undefined || (Number(m[9]) <= 14 && Number(m[10]) <= 59));
  if (!valid) return undefined;
  return m[8] ? value : `${value}Z`;
}
