import { isObject, type JSONObject } from '../attribute-value.ts';
import {
  type CompareOp,
  type FilterNode,
  type FilterValue,
  parseFilter,
} from '../filter-parser.ts';
import type { AttrNode } from '../schema-index.ts';
import { invalidFilter } from '../scim-error.ts';

/** A literal of a value filter, typed after the sub-attribute it is compared with. */
export type FilterLiteral = string | number | boolean | null;

/**
 * The filter of a value path (`emails[type eq "work"]`), its names resolved against the
 * sub-attributes of the multi-valued attribute. `sub` is undefined where the filter names
 * `value` of a multi-valued attribute of simple values: the value itself.
 */
export type ValueFilter =
  | { kind: 'and' | 'or'; terms: ValueFilter[] }
  | { kind: 'not'; term: ValueFilter }
  | { kind: 'present'; sub: AttrNode | undefined }
  | { kind: 'compare'; sub: AttrNode | undefined; operator: CompareOp; value: FilterLiteral };

/**
 * Parses the text between the brackets of a value path with the shared RFC grammar parser.
 * An unknown sub-attribute, a nested bracket or a literal of the wrong type for its
 * attribute (`primary gt true`, `type eq 1`) is an invalidFilter.
 * @see RFC 7644 §3.4.2.2, §3.5.2
 */
export function parseValueFilter(attribute: AttrNode, text: string): ValueFilter {
  return resolve(attribute, parseFilter(text));
}

function resolve(attribute: AttrNode, node: FilterNode): ValueFilter {
  switch (node.op) {
    case 'and':
    case 'or':
      return { kind: node.op, terms: node.terms.map((t) => resolve(attribute, t)) };
    case 'not':
      return { kind: 'not', term: resolve(attribute, node.term) };
    case 'present':
      return { kind: 'present', sub: subOf(attribute, node.path) };
    case 'compare': {
      const sub = subOf(attribute, node.path);
      return {
        kind: 'compare',
        sub,
        operator: node.operator,
        value: literal(sub ?? attribute, node.operator, node.value),
      };
    }
    case 'valuePath':
      throw invalidFilter(`a filter inside ${attribute.path}[…] cannot hold another […]`);
  }
}

function subOf(attribute: AttrNode, name: string): AttrNode | undefined {
  if (!attribute.subs) {
    if (name.toLowerCase() === 'value') return undefined;
    throw invalidFilter(`${attribute.path} holds simple values: its filter can only name "value"`);
  }
  const sub = attribute.subs.get(name.toLowerCase());
  if (!sub) throw invalidFilter(`${attribute.path} has no sub-attribute "${name}"`);
  return sub;
}

const ORDERING = new Set<CompareOp>(['gt', 'ge', 'lt', 'le']);
const SUBSTRING = new Set<CompareOp>(['co', 'sw', 'ew']);

function literal(node: AttrNode, operator: CompareOp, value: FilterValue): FilterLiteral {
  const bad = (why: string) => invalidFilter(`${node.path} ${operator} …: ${why}`);
  if (value === null) {
    if (operator !== 'eq' && operator !== 'ne')
      throw bad('null can only be compared with eq or ne');
    return null;
  }
  switch (node.def.type) {
    case 'boolean': {
      if (operator !== 'eq' && operator !== 'ne')
        throw bad('a boolean can only be compared with eq or ne');
      // Entra writes `primary eq "True"`.
      const text = typeof value === 'string' ? value.toLowerCase() : undefined;
      if (typeof value === 'boolean') return value;
      if (text === 'true' || text === 'false') return text === 'true';
      throw bad('expected true or false');
    }
    case 'integer':
    case 'decimal':
      if (SUBSTRING.has(operator)) throw bad('co, sw and ew compare strings only');
      if (typeof value === 'object') return Number(value.number);
      throw bad('expected a number');
    case 'binary':
      if (ORDERING.has(operator)) throw bad('binary values cannot be ordered');
      break;
    case 'dateTime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw bad('expected a dateTime string');
      return value;
    case 'complex':
      throw bad('a complex value cannot be compared');
  }
  if (typeof value !== 'string') throw bad('expected a string');
  return value;
}

/**
 * Whether one value of a multi-valued attribute matches: strings compare as the
 * sub-attribute's `caseExact` says, dateTimes as instants, an absent sub-attribute matches
 * only `ne` and `eq null`.
 * @see RFC 7644 §3.4.2.2
 */
export function matches(filter: ValueFilter, element: unknown, attribute: AttrNode): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.terms.every((t) => matches(t, element, attribute));
    case 'or':
      return filter.terms.some((t) => matches(t, element, attribute));
    case 'not':
      return !matches(filter.term, element, attribute);
    case 'present': {
      const v = valueAt(element, filter.sub);
      return (
        v !== undefined && v !== null && v !== '' && !(isObject(v) && Object.keys(v).length === 0)
      );
    }
    case 'compare':
      return compare(
        filter.sub ?? attribute,
        valueAt(element, filter.sub),
        filter.operator,
        filter.value,
      );
  }
}

function valueAt(element: unknown, sub: AttrNode | undefined): unknown {
  if (!sub) return element;
  return isObject(element) ? element[sub.name] : undefined;
}

function compare(
  node: AttrNode,
  actual: unknown,
  operator: CompareOp,
  expected: FilterLiteral,
): boolean {
  const absent = actual === undefined || actual === null;
  if (expected === null) return (operator === 'eq') === absent;
  if (absent) return operator === 'ne';
  let a: string | number | boolean;
  let b: string | number | boolean = expected;
  if (node.def.type === 'dateTime' && typeof actual === 'string') {
    a = Date.parse(actual);
    b = Date.parse(expected as string);
  } else if (typeof actual === 'string' && typeof expected === 'string' && !node.def.caseExact) {
    a = actual.toLowerCase();
    b = expected.toLowerCase();
  } else if (
    typeof actual === 'string' ||
    typeof actual === 'number' ||
    typeof actual === 'boolean'
  ) {
    a = actual;
  } else {
    return operator === 'ne';
  }
  if (typeof a !== typeof b) return operator === 'ne';
  switch (operator) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return typeof a === 'string' && a.includes(b as string);
    case 'sw':
      return typeof a === 'string' && a.startsWith(b as string);
    case 'ew':
      return typeof a === 'string' && a.endsWith(b as string);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/**
 * The value a filter made only of `eq` comparisons joined by `and` pins down
 * (`type eq "work" and primary eq true` → `{type: "work", primary: true}`): what add and
 * replace create when no value matches. Undefined for any other filter.
 */
export function seedOf(filter: ValueFilter): JSONObject | undefined {
  if (filter.kind === 'compare') {
    if (filter.operator !== 'eq' || !filter.sub || filter.value === null) return undefined;
    return { [filter.sub.name]: filter.value };
  }
  if (filter.kind !== 'and') return undefined;
  const seed: JSONObject = {};
  for (const term of filter.terms) {
    const part = seedOf(term);
    if (!part) return undefined;
    for (const key in part) {
      if (key in seed && seed[key] !== part[key]) return undefined;
      seed[key] = part[key];
    }
  }
  return seed;
}
