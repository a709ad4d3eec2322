import type { AttrNode } from './schema-index.ts';
import { USER_SCHEMA } from './schema-registry.ts';
import { invalidValue } from './scim-error.ts';

/** A JSON object as it comes off the wire. */
export type JSONObject = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is JSONObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// xsd:dateTime (RFC 7643 §2.3.5): date, time, optional fraction and zone.
const DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/;
const WHITESPACE = /\s/;

/**
 * Normalises what a client sent for one attribute: canonical sub-attribute names, types
 * checked and coerced, read-only sub-attributes dropped. Returns undefined when the value is
 * unassigned: `null`, an empty array or an empty complex value (RFC 7643 §2.5).
 * A lone value for a multi-valued attribute is taken as a one-element array.
 * @throws SCIMError invalidValue naming the attribute.
 */
export function normaliseValue(node: AttrNode, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (node.def.multiValued) return normaliseValues(node, value);
  if (Array.isArray(value))
    throw invalidValue(`${node.path} is single-valued but an array was given`);
  return normaliseOne(node, value, false);
}

/**
 * The values of a multi-valued attribute; at most one may be primary.
 * @see RFC 7643 §2.4
 */
export function normaliseValues(node: AttrNode, value: unknown): unknown[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  const out: unknown[] = [];
  let primaries = 0;
  for (const item of items) {
    const element = normaliseOne(node, item, false);
    if (element === undefined) continue;
    if (isObject(element) && element['primary'] === true && ++primaries > 1) {
      throw invalidValue(
        `${node.path}: the primary value "true" may appear at most once (RFC 7643 §2.4)`,
      );
    }
    out.push(element);
  }
  return out.length > 0 ? out : undefined;
}

/**
 * One value: of a single-valued attribute, or one element of a multi-valued one. With
 * `keepNulls`, a complex value keeps explicit `null` sub-attributes so a PATCH merge can
 * unassign them.
 */
export function normaliseOne(node: AttrNode, value: unknown, keepNulls: boolean): unknown {
  if (value === null || value === undefined) return undefined;
  if (node.def.type === 'complex') return normaliseComplex(node, value, keepNulls);
  return coerceSimple(node, value);
}

function normaliseComplex(
  node: AttrNode,
  value: unknown,
  keepNulls: boolean,
): JSONObject | undefined {
  // Entra sends the enterprise `manager` as the manager's id alone.
  if (typeof value === 'string' && node.valueSub)
    return { value: coerceSimple(node.valueSub, value) };
  if (!isObject(value)) throw invalidValue(`${node.path} must be a complex value (a JSON object)`);
  const out: JSONObject = {};
  let size = 0;
  for (const key in value) {
    const sub = node.subs?.get(key.toLowerCase());
    if (!sub) throw invalidValue(`${node.path} has no sub-attribute "${key}"`);
    // Read-only values a client sends are ignored (RFC 7644 §3.3, §3.5.1).
    if (sub.def.mutability === 'readOnly') continue;
    const v = normaliseValue(sub, value[key]);
    if (v === undefined) {
      if (keepNulls && value[key] === null) {
        out[sub.name] = null;
        size++;
      }
      continue;
    }
    out[sub.name] = v;
    size++;
  }
  // A partial value for a merge is checked once merged, by the caller.
  if (!keepNulls) checkRequiredSubs(node, out);
  return size > 0 ? out : undefined;
}

/**
 * Required sub-attributes must be present; so must `value` in each element of a list of
 * references (`members`), which means nothing without the id it points to.
 */
export function checkRequiredSubs(node: AttrNode, element: JSONObject): void {
  if (!node.subs) return;
  if (node.def.multiValued && node.valueSub && node.subs.has('$ref') && element['value'] == null) {
    throw invalidValue(`each value of ${node.path} needs a "value"`);
  }
  for (const sub of node.subs.values()) {
    if (sub.def.required && element[sub.name] == null) {
      throw invalidValue(`${sub.path} is required`);
    }
  }
}

/**
 * Checks and coerces a simple value. Coerces what real clients send: booleans as the
 * strings "True"/"False" (Entra), integers and decimals as strings that parse exactly.
 * @see RFC 7643 §2.3
 */
export function coerceSimple(node: AttrNode, value: unknown): unknown {
  switch (node.def.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const lowered = value.toLowerCase();
        if (lowered === 'true') return true;
        if (lowered === 'false') return false;
      }
      throw invalidValue(`${node.path} must be a boolean`);
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && INTEGER.test(value) && Number.isSafeInteger(Number(value))) {
        return Number(value);
      }
      throw invalidValue(`${node.path} must be an integer`);
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
      throw invalidValue(`${node.path} must be a decimal number`);
    case 'dateTime':
      if (typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))) {
        return value;
      }
      throw invalidValue(`${node.path} must be an xsd:dateTime such as 2008-01-23T04:56:22Z`);
    case 'complex':
      throw invalidValue(`${node.path} must be a complex value (a JSON object)`);
    default:
      // string, reference, binary
      if (typeof value !== 'string') throw invalidValue(`${node.path} must be a string`);
      checkString(node, value);
      return value;
  }
}

function checkString(node: AttrNode, value: string): void {
  if (node.def.required && value === '') throw invalidValue(`${node.path} must not be empty`);
  // userName is how people sign in: whitespace anywhere is a mistake we refuse rather than
  // trim, so two spellings of one name never exist (DESIGN.md: "no spaces").
  if (
    node.name === 'userName' &&
    !node.isSub &&
    node.schema === USER_SCHEMA &&
    WHITESPACE.test(value)
  ) {
    throw invalidValue('userName must not contain whitespace');
  }
}
