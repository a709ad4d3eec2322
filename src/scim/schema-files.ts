import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  createSchemaRegistry,
  type ResourceTypeDef,
  type SchemaDef,
  type SchemaRegistry,
} from './schema-registry.ts';

/** The folder of our SCIM extension schemas and custom resource types, beside `src/`. */
export const SCHEMA_DIR = resolve(import.meta.dirname, '../../scim-schemas');

const TYPES = [
  'string',
  'boolean',
  'decimal',
  'integer',
  'dateTime',
  'reference',
  'complex',
  'binary',
] as const;

const attributeFile: z.ZodType<unknown> = z.lazy(() =>
  z.object({
    name: z.string().regex(/^[A-Za-z$][\w$-]*$/, 'an attribute name (RFC 7643 §2.1)'),
    type: z.enum(TYPES),
    multiValued: z.boolean().optional(),
    description: z.string().optional(),
    required: z.boolean().optional(),
    caseExact: z.boolean().optional(),
    mutability: z.enum(['readOnly', 'readWrite', 'immutable', 'writeOnly']).optional(),
    returned: z.enum(['always', 'never', 'default', 'request']).optional(),
    uniqueness: z.enum(['none', 'server', 'global']).optional(),
    canonicalValues: z.array(z.string()).optional(),
    referenceTypes: z.array(z.string()).optional(),
    subAttributes: z.array(attributeFile).optional(),
  }),
);

const schemaFile = z.object({
  schemas: z.tuple([z.literal('urn:ietf:params:scim:schemas:core:2.0:Schema')]).optional(),
  id: z.string().startsWith('urn:'),
  name: z.string(),
  description: z.string(),
  attributes: z.array(attributeFile),
});

const resourceTypeFile = z.object({
  schemas: z.tuple([z.literal('urn:ietf:params:scim:schemas:core:2.0:ResourceType')]).optional(),
  name: z.string(),
  endpoint: z.string().startsWith('/'),
  description: z.string().default(''),
  schema: z.string().startsWith('urn:'),
  schemaExtensions: z.array(z.object({ schema: z.string(), required: z.boolean() })).default([]),
});

function jsonFiles(dir: string): { path: string; json: unknown }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((n) => {
    const path = join(dir, n);
    return { path, json: JSON.parse(readFileSync(path, 'utf8')) as unknown };
  });
}

function parse<T>(parser: z.ZodType<T>, path: string, json: unknown): T {
  const parsed = parser.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${path} is not a valid SCIM definition: ${issues}`);
  }
  return parsed.data;
}

/**
 * Builds the schema registry from RFC 7643's schemas plus the JSON definitions in
 * `dir`: `schemas/*.json` in the form of RFC 7643 §7, `resource-types/*.json` in the
 * form of §6. A resource type named `User` or `Group` adds its `schemaExtensions` to the
 * built-in one; any other name is a custom resource type. A broken file stops the start.
 */
export function loadSchemaRegistry(dir: string = SCHEMA_DIR): SchemaRegistry {
  const schemas = jsonFiles(join(dir, 'schemas')).map(
    ({ path, json }) => parse(schemaFile, path, json) as SchemaDef,
  );
  const registry = createSchemaRegistry(schemas);
  for (const { path, json } of jsonFiles(join(dir, 'resource-types'))) {
    const rt: ResourceTypeDef = parse(resourceTypeFile, path, json);
    for (const urn of [rt.schema, ...rt.schemaExtensions.map((e) => e.schema)]) {
      if (!registry.schemas.has(urn)) throw new Error(`${path} names the unknown schema ${urn}`);
    }
    const builtIn = registry.resourceTypes.get(rt.name);
    if (builtIn) {
      if (builtIn.schema !== rt.schema)
        throw new Error(`${path} changes the core schema of ${rt.name}`);
      builtIn.schemaExtensions.push(...rt.schemaExtensions);
    } else {
      registry.addResourceType(rt);
    }
  }
  return registry;
}
