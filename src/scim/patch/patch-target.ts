import {
  checkRequiredSubs,
  isObject,
  type JSONObject,
  normaliseOne,
  normaliseValue,
  normaliseValues,
} from '../attribute-value.ts';
import type { AttrNode } from '../schema-index.ts';
import { mutability, noTarget } from '../scim-error.ts';
import {
  addValues,
  containsValue,
  mergeComplex,
  settlePrimary,
  withoutSub,
} from './multi-valued.ts';
import type { PatchPath } from './patch-path.ts';
import type { PatchOpName } from './patch-request.ts';
import { matches, seedOf, type ValueFilter } from './value-filter.ts';

/**
 * The new value of the attribute `path` names after one operation, computed from its
 * current value without mutating it; undefined means unassigned. `current` itself comes
 * back when nothing changes. Mutability is the caller's concern.
 * @see RFC 7644 §3.5.2.1 (add), §3.5.2.2 (remove), §3.5.2.3 (replace)
 */
export function nextValue(
  op: PatchOpName,
  path: PatchPath,
  current: unknown,
  value: unknown,
): unknown {
  const attribute = path.attribute as AttrNode;
  if (path.filter || (path.sub && attribute.def.multiValued)) {
    return applyToValues(op, attribute, path.filter, path.sub, current, value);
  }
  if (path.sub) return applyToSub(op, path.sub, current, value);
  return applyToWhole(op, attribute, current, value);
}

function applyToWhole(
  op: PatchOpName,
  attribute: AttrNode,
  current: unknown,
  value: unknown,
): unknown {
  if (op === 'remove') {
    // A value on remove (what Entra and Okta send for members) removes just those values.
    if (value != null && attribute.def.multiValued && Array.isArray(current)) {
      const patterns = normaliseValues(attribute, value) ?? [];
      const left = current.filter((v) => !patterns.some((p) => containsValue(attribute, v, p)));
      return left.length === current.length ? current : left.length > 0 ? left : undefined;
    }
    return undefined;
  }
  if (attribute.def.multiValued) {
    const values = normaliseValues(attribute, value);
    if (op === 'replace') return values;
    if (!values) return current;
    return addValues(attribute, Array.isArray(current) ? current : [], values);
  }
  if (value === null) return op === 'replace' ? undefined : current;
  if (attribute.def.type !== 'complex') return normaliseOne(attribute, value, false);
  // A bare id (Entra's manager) names a new value outright: merging it would keep the old
  // manager's $ref beside the new id.
  if (typeof value === 'string') return normaliseOne(attribute, value, false);
  // Add and replace both merge into a complex value: sub-attributes not given are kept.
  const partial = normaliseOne(attribute, value, true) as JSONObject | undefined;
  if (!partial) return current;
  const merged = mergeComplex(current, partial);
  if (merged) checkRequiredSubs(attribute, merged);
  return merged;
}

function applyToSub(op: PatchOpName, sub: AttrNode, current: unknown, value: unknown): unknown {
  const object = isObject(current) ? current : undefined;
  if (op === 'remove' || (value === null && op === 'replace')) {
    if (object?.[sub.name] === undefined) return current;
    if (sub.def.required)
      throw mutability(`${sub.path} is required and cannot be removed (RFC 7644 §3.5.2.2)`);
    return mergeComplex(object, { [sub.name]: null });
  }
  const v = normaliseValue(sub, value);
  if (v === undefined) return current;
  return { ...object, [sub.name]: v };
}

/**
 * An operation on the values a filter selects (`emails[type eq "work"]`, optionally `.sub`),
 * or on every value when there is no filter (`emails.type`).
 */
function applyToValues(
  op: PatchOpName,
  attribute: AttrNode,
  filter: ValueFilter | undefined,
  sub: AttrNode | undefined,
  current: unknown,
  value: unknown,
): unknown {
  const values: readonly unknown[] = Array.isArray(current) ? current : [];
  const hits: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (!filter || matches(filter, values[i], attribute)) hits.push(i);
  }
  if (hits.length === 0) {
    if (!filter) {
      if (op === 'remove') return current;
      throw noTarget(
        `${attribute.path} has no values to set ${sub?.name} on: select one with a filter`,
      );
    }
    // RFC 7644 §3.12: a filter that yields no match is noTarget (§3.5.2.3 says so for replace).
    if (op === 'remove') throw noTarget(`no value of ${attribute.path} matches the filter`);
    return createValue(attribute, filter, sub, values, value);
  }
  const out: (unknown | undefined)[] = values.slice();
  for (const i of hits) out[i] = nextElement(op, attribute, sub, out[i], value);
  const kept: unknown[] = [];
  const touched: number[] = [];
  const hitSet = new Set(hits);
  for (let i = 0; i < out.length; i++) {
    if (out[i] === undefined) continue;
    if (hitSet.has(i)) touched.push(kept.length);
    kept.push(out[i]);
  }
  if (kept.length === 0) return undefined;
  return settlePrimary(attribute, kept, touched);
}

function nextElement(
  op: PatchOpName,
  attribute: AttrNode,
  sub: AttrNode | undefined,
  element: unknown,
  value: unknown,
): unknown {
  if (op === 'remove') return sub ? withoutSub(attribute, element, sub) : undefined;
  if (sub) {
    if (value === null) return withoutSub(attribute, element, sub);
    const v = normaliseValue(sub, value);
    return v === undefined ? element : { ...(isObject(element) ? element : {}), [sub.name]: v };
  }
  if (op === 'replace' || !attribute.subs) return normaliseOne(attribute, value, false);
  // add to a matched complex value merges into it (RFC 7644 §3.5.2.1).
  const partial = normaliseOne(attribute, value, true) as JSONObject | undefined;
  if (!partial) return element;
  const merged = mergeComplex(element, partial);
  if (merged) checkRequiredSubs(attribute, merged);
  return merged;
}

/**
 * Add or replace through a filter that matches nothing. RFC 7644 §3.5.2.3 says noTarget,
 * but Entra sends `replace`/`add` of `emails[type eq "work"].value` to set a work email a
 * user does not have yet, expecting one: when the filter pins a value down with `eq` and
 * `and` alone, that value is created; otherwise noTarget.
 */
function createValue(
  attribute: AttrNode,
  filter: ValueFilter,
  sub: AttrNode | undefined,
  values: readonly unknown[],
  value: unknown,
): unknown {
  const seed = seedOf(filter);
  if (!seed)
    throw noTarget(
      `no value of ${attribute.path} matches the filter, and the filter does not describe one to create`,
    );
  if (value === null) return values.length > 0 ? values : undefined;
  let element: JSONObject;
  if (sub) {
    const v = normaliseValue(sub, value);
    if (v === undefined) return values.length > 0 ? values : undefined;
    element = { ...seed, [sub.name]: v };
  } else {
    const v = normaliseOne(attribute, value, false);
    if (!isObject(v)) return values.length > 0 ? values : undefined;
    element = { ...seed, ...v };
  }
  checkRequiredSubs(attribute, element);
  return settlePrimary(attribute, [...values, element], [values.length]);
}
