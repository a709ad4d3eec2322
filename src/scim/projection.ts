import type { SCIMResource } from './representation.ts';
import type { AttributeDef, SchemaRegistry } from './schema-registry.ts';

/** A compiled `attributes`/`excludedAttributes` request, applied to every row of a list. */
export interface Projection {
  /** The projected copy; unchanged sub-values are shared with the input, not cloned. */
  apply(resource: SCIMResource): SCIMResource;
  /** Whether a Group's `members` will be shown: when false, do not load them at all. */
  needsMembers: boolean;
  /** Whether a User's `groups` will be shown: when false, do not load them at all. */
  needsGroups: boolean;
}

/**
 * One object level of the projection. `pick`: keep only the listed keys; otherwise keep all
 * but the listed ones. A key maps to `true` (keep whole, or drop whole) or to the plan of
 * its value (applied to each element of an array).
 */
interface Plan {
  pick: boolean;
  keys: Map<string, Plan | true>;
}

interface Ref {
  /** The extension URN, when the path is in an extension (or is the extension). */
  urn?: string | undefined;
  attr?: AttributeDef | undefined;
  sub?: AttributeDef | undefined;
}

const hidden = (def: AttributeDef) => def.returned === 'never' || def.returned === 'request';

/** For an attribute shown whole: the sub-attributes that must still stay out. */
function wholePlan(def: AttributeDef): Plan | true {
  const out = def.subAttributes?.filter(hidden) ?? [];
  return out.length === 0 ? true : { pick: false, keys: new Map(out.map((s) => [s.name, true])) };
}

/** What a schema shows by default: everything but `never` and `request` attributes. */
function defaultPlan(attributes: AttributeDef[]): Plan {
  const keys = new Map<string, Plan | true>();
  for (const def of attributes) {
    if (hidden(def)) keys.set(def.name, true);
    else {
      const plan = wholePlan(def);
      if (plan !== true) keys.set(def.name, plan);
    }
  }
  return { pick: false, keys };
}

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const parts = typeof value === 'string' ? value.split(',') : value.flatMap((v) => v.split(','));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** Compiled projections kept per registry; a client sends the same few again and again. */
const compiled = new WeakMap<SchemaRegistry, Map<string, Projection>>();
/** Distinct projections kept per registry before the cache starts over. */
const MAX_CACHED_PROJECTIONS = 256;

/**
 * `compileProjection`, compiled once per resource type and `attributes`/`excludedAttributes`
 * pair: compiling resolves every path against the schemas, which cost as much as the rest
 * of a `GET ?attributes=id` here.
 */
export function cachedProjection(
  registry: SchemaRegistry,
  resourceType: string,
  attributes?: string | readonly string[],
  excludedAttributes?: string | readonly string[],
): Projection {
  let byKey = compiled.get(registry);
  if (!byKey) {
    byKey = new Map();
    compiled.set(registry, byKey);
  }
  const key = JSON.stringify([resourceType, attributes ?? null, excludedAttributes ?? null]);
  let projection = byKey.get(key);
  if (!projection) {
    projection = compileProjection(registry, resourceType, attributes, excludedAttributes);
    if (byKey.size >= MAX_CACHED_PROJECTIONS) byKey.clear();
    byKey.set(key, projection);
  }
  return projection;
}

/**
 * Compiles `attributes` and `excludedAttributes` (comma-separated strings or arrays) for a
 * resource type. Rules: `id` and `schemas` and every `returned: always` attribute are kept
 * always; `returned: never` (password) is never shown; `returned: request` only when named
 * in `attributes`; `meta` is an ordinary attribute (it goes when `attributes` leaves it out).
 * Paths are case-insensitive, may name sub-attributes (`name.givenName`, `emails.value`)
 * and extensions by URN, whole or in part. When both lists are given, `attributes` wins.
 * Names no schema defines are ignored, as a client asking for what does not exist gets it.
 * @see RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 (`returned`)
 */
export function compileProjection(
  registry: SchemaRegistry,
  resourceType: string,
  attributes?: string | readonly string[],
  excludedAttributes?: string | readonly string[],
): Projection {
  const [coreUrn, ...extensions] = registry.schemaUrns(resourceType) as [string, ...string[]];
  const refs = (paths: string[]): Ref[] =>
    paths.flatMap((path): Ref[] => {
      const urn = registry.extensionUrn(resourceType, path);
      if (urn) return [{ urn }];
      const r = registry.resolve(resourceType, path);
      return r
        ? [{ urn: r.extension ? r.schema : undefined, attr: r.attribute, sub: r.subAttribute }]
        : [];
    });
  const wanted = list(attributes);
  const top =
    wanted.length > 0
      ? pickPlan(registry, resourceType, coreUrn, extensions, refs(wanted))
      : dropPlan(registry, resourceType, coreUrn, extensions, refs(list(excludedAttributes)));
  const shown = (key: string) => (top.pick ? top.keys.has(key) : top.keys.get(key) !== true);
  const touchesExtensions = top.pick || extensions.some((urn) => top.keys.has(urn));
  return {
    needsMembers: resourceType === 'Group' && shown('members'),
    needsGroups: resourceType === 'User' && shown('groups'),
    apply(resource) {
      const out = applyPlan(top, resource);
      if (out === resource || !touchesExtensions) return out;
      // `schemas` lists the schemas of the attributes present (RFC 7643 §3): an extension
      // left out entirely leaves the list too.
      const schemas = resource['schemas'];
      if (Array.isArray(schemas))
        out['schemas'] = schemas.filter((urn) => urn === coreUrn || urn in out);
      return out;
    },
  };
}

function pickPlan(
  registry: SchemaRegistry,
  resourceType: string,
  coreUrn: string,
  extensions: string[],
  refs: Ref[],
): Plan {
  const top: Plan = { pick: true, keys: new Map<string, Plan | true>([['schemas', true]]) };
  const levelOf = (urn: string | undefined): Plan | undefined => {
    if (urn === undefined) return top;
    const current = top.keys.get(urn);
    if (current === true || (current && !current.pick)) return undefined; // already whole
    if (current) return current;
    const level: Plan = { pick: true, keys: new Map() };
    top.keys.set(urn, level);
    return level;
  };
  const addAlways = (urn: string | undefined, attrs: AttributeDef[]) => {
    for (const def of attrs)
      if (def.returned === 'always') levelOf(urn)?.keys.set(def.name, wholePlan(def));
  };
  addAlways(undefined, registry.attributesOf(resourceType, coreUrn));
  for (const urn of extensions) addAlways(urn, registry.attributesOf(resourceType, urn));

  for (const ref of refs) {
    if (!ref.attr) {
      if (ref.urn) top.keys.set(ref.urn, defaultPlan(registry.attributesOf(resourceType, ref.urn)));
      continue;
    }
    const level = levelOf(ref.urn);
    if (!level || ref.attr.returned === 'never') continue;
    if (!ref.sub) {
      level.keys.set(ref.attr.name, wholePlan(ref.attr));
      continue;
    }
    if (ref.sub.returned === 'never') continue;
    const current = level.keys.get(ref.attr.name);
    if (current === true || (current && !current.pick)) continue; // the whole attribute is in
    const plan = current ?? {
      pick: true,
      keys: new Map<string, Plan | true>(
        (ref.attr.subAttributes ?? [])
          .filter((s) => s.returned === 'always')
          .map((s) => [s.name, true]),
      ),
    };
    plan.keys.set(ref.sub.name, true);
    level.keys.set(ref.attr.name, plan);
  }
  return top;
}

function dropPlan(
  registry: SchemaRegistry,
  resourceType: string,
  coreUrn: string,
  extensions: string[],
  refs: Ref[],
): Plan {
  const top = defaultPlan(registry.attributesOf(resourceType, coreUrn));
  for (const urn of extensions) {
    const plan = defaultPlan(registry.attributesOf(resourceType, urn));
    if (plan.keys.size > 0) top.keys.set(urn, plan);
  }
  for (const ref of refs) {
    if (!ref.attr) {
      if (ref.urn) top.keys.set(ref.urn, true);
      continue;
    }
    let level = top;
    if (ref.urn) {
      const current = top.keys.get(ref.urn);
      if (current === true) continue;
      level = current ?? { pick: false, keys: new Map() };
      top.keys.set(ref.urn, level);
    }
    // returned: always cannot be excluded (RFC 7644 §3.4.2.5).
    if (ref.attr.returned === 'always') continue;
    if (!ref.sub) {
      level.keys.set(ref.attr.name, true);
      continue;
    }
    if (ref.sub.returned === 'always') continue;
    const current = level.keys.get(ref.attr.name);
    if (current === true) continue;
    const plan = current ?? { pick: false, keys: new Map() };
    plan.keys.set(ref.sub.name, true);
    level.keys.set(ref.attr.name, plan);
  }
  return top;
}

/** Applies a plan to one object; returns the input itself when nothing changes. */
function applyPlan(plan: Plan, obj: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(obj);
  if (plan.pick) {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const p = plan.keys.get(key);
      if (p === undefined) continue;
      const value = p === true ? obj[key] : projectValue(p, obj[key]);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const p = plan.keys.get(key);
    const value = p === undefined ? obj[key] : p === true ? undefined : projectValue(p, obj[key]);
    if (!out && value === obj[key]) continue;
    if (!out) {
      // First change: copy what came before, then continue building the copy.
      out = {};
      for (let j = 0; j < i; j++) out[keys[j] as string] = obj[keys[j] as string];
    }
    if (value !== undefined) out[key] = value;
  }
  return out ?? obj;
}

/** A plan applied to a complex value or to each element of a multi-valued one. */
function projectValue(plan: Plan, value: unknown): unknown {
  if (Array.isArray(value)) {
    let changed = false;
    const out: unknown[] = [];
    for (const element of value) {
      const projected = isObject(element) ? applyPlan(plan, element) : element;
      if (projected !== element) changed = true;
      if (isObject(projected) && Object.keys(projected).length === 0) continue;
      out.push(projected);
    }
    if (!changed) return value;
    return out.length === 0 ? undefined : out;
  }
  if (!isObject(value)) return value;
  const projected = applyPlan(plan, value);
  return projected !== value && Object.keys(projected).length === 0 ? undefined : projected;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
