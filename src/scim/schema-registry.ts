import SCIMMY from 'scimmy';

/** An attribute definition as RFC 7643 §7 describes it. */
export interface AttributeDef {
  name: string;
  type:
    | 'string'
    | 'boolean'
    | 'decimal'
    | 'integer'
    | 'dateTime'
    | 'reference'
    | 'complex'
    | 'binary';
  multiValued: boolean;
  description?: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

/** A schema definition served by `/Schemas` (RFC 7643 §7). */
export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

/** A resource type served by `/ResourceTypes` (RFC 7643 §6). */
export interface ResourceTypeDef {
  name: string;
  endpoint: string;
  description: string;
  schema: string;
  schemaExtensions: { schema: string; required: boolean }[];
}

/** Where a path lands: the schema it belongs to and the attribute (and sub-attribute). */
export interface ResolvedPath {
  /** The URN of the schema that defines the attribute. */
  schema: string;
  /** True when `schema` is an extension, so the value lives under its URN. */
  extension: boolean;
  attribute: AttributeDef;
  subAttribute?: AttributeDef;
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The attributes every resource has (RFC 7643 §3.1); SCIMMY leaves them out of its schemas. */
const COMMON_ATTRIBUTES: AttributeDef[] = [
  attr('id', 'string', {
    mutability: 'readOnly',
    returned: 'always',
    caseExact: true,
    uniqueness: 'server',
  }),
  attr('externalId', 'string', { caseExact: true }),
  attr('meta', 'complex', {
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', { mutability: 'readOnly', caseExact: true }),
      attr('created', 'dateTime', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
      attr('location', 'reference', { mutability: 'readOnly', caseExact: true }),
      attr('version', 'string', { mutability: 'readOnly', caseExact: true }),
    ],
  }),
];

function attr(
  name: string,
  type: AttributeDef['type'],
  over: Partial<AttributeDef> = {},
): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...over,
  };
}

/** Fills the defaults RFC 7643 §2.2 gives to anything a definition leaves out. */
function normalise(
  def: Partial<AttributeDef> & { name: string; type: AttributeDef['type'] },
): AttributeDef {
  const out = attr(def.name, def.type, def as Partial<AttributeDef>);
  if (def.subAttributes) out.subAttributes = def.subAttributes.map(normalise);
  return out;
}

function fromSCIMMY(definition: { describe(): unknown }): SchemaDef {
  // describe() returns SCIMMY Attribute instances whose RFC fields (multiValued, returned,
  // caseExact…) only appear through toJSON(); spreading them would silently lose those.
  const d = JSON.parse(JSON.stringify(definition.describe())) as SchemaDef;
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    attributes: d.attributes.map(normalise),
  };
}

const lower = (s: string) => s.toLowerCase();

/**
 * The schemas and resource types carebridge serves, and the one place that resolves an
 * attribute path (case-insensitively, RFC 7644 §3.10) to its definition.
 */
export class SchemaRegistry {
  readonly schemas = new Map<string, SchemaDef>();
  readonly resourceTypes = new Map<string, ResourceTypeDef>();

  addSchema(schema: SchemaDef): void {
    this.schemas.set(schema.id, { ...schema, attributes: schema.attributes.map(normalise) });
  }

  addResourceType(rt: ResourceTypeDef): void {
    this.resourceTypes.set(rt.name, rt);
  }

  resourceType(name: string): ResourceTypeDef {
    const rt = this.resourceTypes.get(name);
    if (!rt) throw new Error(`unknown resource type ${name}`);
    return rt;
  }

  /** Schema URNs a resource of this type may carry: the core schema first. */
  schemaUrns(resourceType: string): string[] {
    const rt = this.resourceType(resourceType);
    return [rt.schema, ...rt.schemaExtensions.map((e) => e.schema)];
  }

  /** The extension URN that `name` spells, matched case-insensitively, if any. */
  extensionUrn(resourceType: string, name: string): string | undefined {
    const wanted = lower(name);
    return this.resourceType(resourceType).schemaExtensions.find((e) => lower(e.schema) === wanted)
      ?.schema;
  }

  /** The top-level attributes of one schema of a resource type (core adds the common ones). */
  attributesOf(resourceType: string, schemaUrn: string): AttributeDef[] {
    const schema = this.schemas.get(schemaUrn);
    if (!schema) return [];
    return schemaUrn === this.resourceType(resourceType).schema
      ? [...COMMON_ATTRIBUTES, ...schema.attributes]
      : schema.attributes;
  }

  /**
   * Resolves `name.sub`, `urn:…:name.sub` or `urn:…` forms of an attribute path.
   * Returns undefined for a path no schema of the resource type defines.
   * @see RFC 7644 §3.10
   */
  resolve(resourceType: string, path: string): ResolvedPath | undefined {
    const rt = this.resourceType(resourceType);
    let schemaUrn = rt.schema;
    let rest = path;
    const lowered = lower(path);
    for (const urn of this.schemaUrns(resourceType)) {
      if (lowered.startsWith(`${lower(urn)}:`)) {
        schemaUrn = urn;
        rest = path.slice(urn.length + 1);
        break;
      }
    }
    const [name, sub, ...extra] = rest.split('.');
    if (!name || extra.length > 0) return undefined;
    const attribute = this.attributesOf(resourceType, schemaUrn).find(
      (a) => lower(a.name) === lower(name),
    );
    if (!attribute) return undefined;
    const resolved: ResolvedPath = {
      schema: schemaUrn,
      extension: schemaUrn !== rt.schema,
      attribute,
    };
    if (sub === undefined) return resolved;
    const subAttribute = attribute.subAttributes?.find((a) => lower(a.name) === lower(sub));
    if (!subAttribute) return undefined;
    return { ...resolved, subAttribute };
  }

  /** Finds a sub-attribute of a complex attribute case-insensitively. */
  subAttribute(attribute: AttributeDef, name: string): AttributeDef | undefined {
    return attribute.subAttributes?.find((a) => lower(a.name) === lower(name));
  }
}

/** The registry with RFC 7643's User, Group and Enterprise User schemas. */
export function createSchemaRegistry(extraSchemas: SchemaDef[] = []): SchemaRegistry {
  const registry = new SchemaRegistry();
  registry.addSchema(fromSCIMMY(SCIMMY.Schemas.User.definition));
  registry.addSchema(fromSCIMMY(SCIMMY.Schemas.Group.definition));
  registry.addSchema(fromSCIMMY(SCIMMY.Schemas.EnterpriseUser.definition));
  for (const schema of extraSchemas) registry.addSchema(schema);
  registry.addResourceType({
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
  });
  registry.addResourceType({
    name: 'Group',
    endpoint: '/Groups',
    description: 'Group',
    schema: GROUP_SCHEMA,
    schemaExtensions: [],
  });
  return registry;
}
