import { isDeepStrictEqual } from 'node:util';
import { isObject, type JSONObject, normaliseValue } from './attribute-value.ts';
import type { SCIMResource } from './representation.ts';
import {
  type AttrNode,
  type ResourceIndex,
  resourceIndex,
  type SchemaIndex,
  splitSchemaURN,
} from './schema-index.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { invalidSyntax, invalidValue, mutability } from './scim-error.ts';

/** How a resource body arrives: a POST creates (RFC 7644 §3.3), a PUT replaces (§3.5.1). */
export interface NormaliseOptions {
  mode: 'create' | 'replace';
  /**
   * The stored resource a PUT replaces, when the caller has it: an immutable attribute that
   * has a value must keep it (RFC 7644 §3.5.1). Ignored on create. Both modes otherwise
   * read a body the same way.
   */
  current?: SCIMResource | undefined;
}

/**
 * Turns a POST or PUT body into the canonical resource: attribute names in the case their
 * schema spells them (names are case-insensitive, RFC 7644 §3.10), extension attributes
 * under their schema URN, values typed (see {@link normaliseValue}), unassigned values
 * (null, [], {}) dropped (RFC 7643 §2.5), read-only attributes such as `id`, `meta` and a
 * User's `groups` ignored (RFC 7644 §3.3, §3.5.1), `schemas` rebuilt from what is present.
 *
 * Errors (RFC 7644 §3.12): a body that is not an object, a `schemas` without the core schema,
 * attributes under a schema URN the resource type does not serve → invalidSyntax (the body
 * does not conform to the request schema); an attribute no schema defines, a wrong type, a missing required
 * attribute → invalidValue, naming the attribute; a changed immutable attribute → mutability.
 */
export function normaliseResource(
  registry: SchemaRegistry,
  resourceType: string,
  body: unknown,
  options: NormaliseOptions,
): SCIMResource {
  const index = resourceIndex(registry, resourceType);
  if (!isObject(body)) throw invalidSyntax('the request body must be a JSON object');
  checkSchemas(index, body);
  const out: SCIMResource = { schemas: [index.core.urn] };
  const extensions = new Map<SchemaIndex, JSONObject>();
  const containerOf = (schema: SchemaIndex): JSONObject => {
    if (!schema.extension) return out;
    let container = extensions.get(schema);
    if (!container) {
      container = {};
      extensions.set(schema, container);
    }
    return container;
  };

  for (const key in body) {
    const value = body[key];
    const core = index.core.attributes.get(key.toLowerCase());
    if (core) {
      put(out, core, value);
      continue;
    }
    if (key.toLowerCase() === 'schemas') continue;
    const split = key.length > 4 ? splitSchemaURN(index, key) : undefined;
    if (!split) {
      if (/^urn:/i.test(key)) {
        const served = index.schemas.map((schema) => schema.urn).join(', ');
        throw invalidSyntax(`${key} is not a schema of ${resourceType} (it uses ${served})`);
      }
      throw invalidValue(`${key} is not an attribute of ${resourceType}`);
    }
    const container = containerOf(split.schema);
    if (split.rest !== '') {
      // A fully qualified name such as `urn:…:enterprise:2.0:User:department` (RFC 7644 §3.10).
      put(container, attributeOf(split.schema, split.rest, resourceType), value);
      continue;
    }
    if (value === null) continue;
    if (!isObject(value))
      throw invalidValue(`${split.schema.urn} must be an object of its attributes`);
    for (const name in value)
      put(container, attributeOf(split.schema, name, resourceType), value[name]);
  }

  for (const schema of index.schemas) {
    const container = schema.extension ? extensions.get(schema) : out;
    if (schema.extension && (!container || Object.keys(container).length === 0)) {
      if (schema.required)
        throw invalidValue(`${resourceType} requires the extension ${schema.urn}`);
      continue;
    }
    checkRequired(schema, container as JSONObject);
    if (options.mode === 'replace' && options.current) {
      checkImmutable(schema, container as JSONObject, options.current);
    }
    if (schema.extension) {
      out[schema.urn] = container;
      (out['schemas'] as string[]).push(schema.urn);
    }
  }
  return out;
}

function put(container: JSONObject, attribute: AttrNode, value: unknown): void {
  if (attribute.def.mutability === 'readOnly') return;
  const normalised = normaliseValue(attribute, value);
  if (normalised === undefined) return;
  if (container[attribute.name] !== undefined) {
    throw invalidValue(`${attribute.path} is given twice (attribute names are case-insensitive)`);
  }
  container[attribute.name] = normalised;
}

function attributeOf(schema: SchemaIndex, name: string, resourceType: string): AttrNode {
  const attribute = schema.attributes.get(name.toLowerCase());
  if (!attribute)
    throw invalidValue(`${name} is not an attribute of ${schema.urn} (${resourceType})`);
  return attribute;
}

/**
 * `schemas` is required and must include the core schema (RFC 7643 §3). A URN the resource
 * type does not serve is ignored when nothing in the body sits under it: Entra's documented
 * "Create Group" lists `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group`.
 * Attributes under an unknown URN are refused by the caller, never silently dropped.
 */
function checkSchemas(index: ResourceIndex, body: JSONObject): void {
  let schemas: unknown;
  for (const key in body) if (key.toLowerCase() === 'schemas') schemas = body[key];
  if (!Array.isArray(schemas) || !schemas.every((urn) => typeof urn === 'string')) {
    throw invalidSyntax(`schemas must be an array of schema URNs that includes ${index.core.urn}`);
  }
  const core = index.core.urn.toLowerCase();
  if (!schemas.some((urn: string) => urn.toLowerCase() === core)) {
    throw invalidSyntax(`schemas must include ${index.core.urn}`);
  }
}

function checkRequired(schema: SchemaIndex, container: JSONObject): void {
  for (const attribute of schema.list) {
    if (attribute.def.required && container[attribute.name] === undefined) {
      throw invalidValue(`${attribute.path} is required`);
    }
  }
}

function checkImmutable(schema: SchemaIndex, container: JSONObject, current: SCIMResource): void {
  const stored = schema.extension ? current[schema.urn] : current;
  if (!isObject(stored)) return;
  for (const attribute of schema.list) {
    if (attribute.def.mutability !== 'immutable') continue;
    const was = stored[attribute.name];
    if (was !== undefined && !isDeepStrictEqual(was, container[attribute.name])) {
      throw mutability(`${attribute.path} is immutable and already has a value`);
    }
  }
}
