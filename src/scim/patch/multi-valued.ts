import { isObject, type JSONObject } from '../attribute-value.ts';
import type { AttrNode } from '../schema-index.ts';
import { invalidValue } from '../scim-error.ts';

/**
 * Whether two values of an attribute are the same value: same sub-attributes, strings
 * compared as each one's `caseExact` says (RFC 7643 §2.2, §2.4).
 */
export function sameValue(node: AttrNode, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (node.subs) {
    if (!isObject(a) || !isObject(b)) return false;
    let count = 0;
    for (const key in a) {
      const sub = node.subs.get(key.toLowerCase());
      if (!(key in b) || !(sub ? sameValue(sub, a[key], b[key]) : a[key] === b[key])) return false;
      count++;
    }
    return count === Object.keys(b).length;
  }
  if (typeof a === 'string' && typeof b === 'string' && !node.def.caseExact) {
    return a.toLowerCase() === b.toLowerCase();
  }
  return false;
}

/** Whether `element` carries every sub-attribute value of `pattern`. */
export function containsValue(node: AttrNode, element: unknown, pattern: unknown): boolean {
  if (!node.subs || !isObject(pattern)) return sameValue(node, element, pattern);
  if (!isObject(element)) return false;
  for (const key in pattern) {
    const sub = node.subs.get(key.toLowerCase());
    if (!sub || !sameValue(sub, element[key], pattern[key])) return false;
  }
  return true;
}

/**
 * Adds values to a multi-valued attribute; a value already there is not added again, so
 * adding it changes nothing (RFC 7644 §3.5.2.1). Returns `current` itself when nothing is new.
 */
export function addValues(
  node: AttrNode,
  current: readonly unknown[],
  added: readonly unknown[],
): readonly unknown[] {
  let out: unknown[] | undefined;
  const fresh: number[] = [];
  for (const value of added) {
    const list = out ?? current;
    if (list.some((v) => sameValue(node, v, value))) continue;
    out ??= current.slice();
    fresh.push(out.push(value) - 1);
  }
  return out ? settlePrimary(node, out, fresh) : current;
}

/**
 * Once a value is made primary, every other value stops being primary; two values made
 * primary at once is an error.
 * @see RFC 7644 §3.5.2 ("primary" sub-attribute), RFC 7643 §2.4
 */
export function settlePrimary(
  node: AttrNode,
  values: unknown[],
  touched: readonly number[],
): unknown[] {
  if (!node.subs?.has('primary')) return values;
  let chosen = -1;
  for (const i of touched) {
    const value = values[i];
    if (isObject(value) && value['primary'] === true) {
      if (chosen >= 0)
        throw invalidValue(
          `${node.path}: the primary value "true" may appear at most once (RFC 7643 §2.4)`,
        );
      chosen = i;
    }
  }
  if (chosen < 0) return values;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i !== chosen && isObject(value) && value['primary'] === true)
      values[i] = { ...value, primary: false };
  }
  return values;
}

/**
 * A value without one of its sub-attributes, or undefined when what is left is no value at
 * all: nothing, or no `value` where the attribute has one (an email without its address).
 */
export function withoutSub(
  node: AttrNode,
  element: unknown,
  sub: AttrNode,
): JSONObject | undefined {
  if (!isObject(element)) return undefined;
  const copy = { ...element };
  delete copy[sub.name];
  if (node.valueSub && copy['value'] === undefined) return undefined;
  return Object.keys(copy).length > 0 ? copy : undefined;
}

/** Merges sub-attributes into a complex value; `null` unassigns one (RFC 7643 §2.5). */
export function mergeComplex(current: unknown, partial: JSONObject): JSONObject | undefined {
  const out: JSONObject = isObject(current) ? { ...current } : {};
  for (const key in partial) {
    if (partial[key] === null) delete out[key];
    else out[key] = partial[key];
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
