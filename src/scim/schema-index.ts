import type { AttributeDef, SchemaRegistry } from './schema-registry.ts';

/** One attribute of a resource type, with its sub-attributes indexed by lower-case name. */
export interface AttrNode {
  /** The canonical name, as the schema spells it. */
  readonly name: string;
  readonly def: AttributeDef;
  /** The URN of the schema that defines the attribute (or its parent). */
  readonly schema: string;
  /** True when the attribute lives under its schema URN in a resource. */
  readonly extension: boolean;
  /** Sub-attributes by lower-case name; set for complex attributes only. */
  readonly subs: ReadonlyMap<string, AttrNode> | undefined;
  /** The `value` sub-attribute: the significant value of a multi-valued element (RFC 7643 §2.4). */
  readonly valueSub: AttrNode | undefined;
  /** True for sub-attributes. */
  readonly isSub: boolean;
  /** How messages name the attribute: `emails.type`, `urn:…:User:manager`. */
  readonly path: string;
}

/** The attributes of one schema of a resource type. */
export interface SchemaIndex {
  readonly urn: string;
  readonly extension: boolean;
  /** Whether a resource must carry this extension (RFC 7643 §6 schemaExtensions.required). */
  readonly required: boolean;
  readonly attributes: ReadonlyMap<string, AttrNode>;
  readonly list: readonly AttrNode[];
}

/**
 * Everything the hot paths (resource input, PATCH) need to resolve names of one resource
 * type without scanning arrays or lower-casing definitions per request: compiled once per
 * registry and resource type. The registry is complete before the first request, so the
 * compiled index never goes stale.
 */
export interface ResourceIndex {
  readonly resourceType: string;
  readonly core: SchemaIndex;
  /** Extensions by lower-case URN. */
  readonly extensions: ReadonlyMap<string, SchemaIndex>;
  /** Core first, then the extensions in their declared order. */
  readonly schemas: readonly SchemaIndex[];
  /** Per-type memo for parsed PATCH paths (small, bounded; paths repeat across requests). */
  readonly pathCache: Map<string, unknown>;
}

const compiled = new WeakMap<SchemaRegistry, Map<string, ResourceIndex>>();

/** The compiled index of a resource type; built on first use. */
export function resourceIndex(registry: SchemaRegistry, resourceType: string): ResourceIndex {
  let byType = compiled.get(registry);
  if (!byType) {
    byType = new Map();
    compiled.set(registry, byType);
  }
  let index = byType.get(resourceType);
  if (!index) {
    index = compile(registry, resourceType);
    byType.set(resourceType, index);
  }
  return index;
}

function compile(registry: SchemaRegistry, resourceType: string): ResourceIndex {
  const rt = registry.resourceType(resourceType);
  const schema = (urn: string, extension: boolean, required: boolean): SchemaIndex => {
    const list = registry
      .attributesOf(resourceType, urn)
      .map((def) => node(def, urn, extension, undefined));
    return {
      urn,
      extension,
      required,
      attributes: new Map(list.map((n) => [n.name.toLowerCase(), n])),
      list,
    };
  };
  const core = schema(rt.schema, false, true);
  const extensions = rt.schemaExtensions.map((e) => schema(e.schema, true, e.required));
  return {
    resourceType,
    core,
    extensions: new Map(extensions.map((s) => [s.urn.toLowerCase(), s])),
    schemas: [core, ...extensions],
    pathCache: new Map(),
  };
}

function node(
  def: AttributeDef,
  schema: string,
  extension: boolean,
  parent: string | undefined,
): AttrNode {
  const path = parent ? `${parent}.${def.name}` : extension ? `${schema}:${def.name}` : def.name;
  const subs =
    def.type === 'complex' && def.subAttributes
      ? new Map(
          def.subAttributes.map((s) => [s.name.toLowerCase(), node(s, schema, extension, path)]),
        )
      : undefined;
  return {
    name: def.name,
    def,
    schema,
    extension,
    subs,
    valueSub: subs?.get('value'),
    isSub: parent !== undefined,
    path,
  };
}

/**
 * Splits `urn:…:rest` into the schema of the resource type whose URN prefixes it and the
 * rest; `rest` is empty when the text is the URN itself. URNs compare case-insensitively.
 * @see RFC 7644 §3.10
 */
export function splitSchemaURN(
  index: ResourceIndex,
  text: string,
): { schema: SchemaIndex; rest: string } | undefined {
  const lowered = text.toLowerCase();
  let found: { schema: SchemaIndex; rest: string } | undefined;
  // The longest URN wins, should one schema's URN prefix another's.
  for (const schema of index.schemas) {
    const urn = schema.urn.toLowerCase();
    if (found && found.schema.urn.length >= urn.length) continue;
    if (lowered === urn) found = { schema, rest: '' };
    else if (lowered.startsWith(urn) && lowered.charCodeAt(urn.length) === 58 /* ':' */) {
      found = { schema, rest: text.slice(urn.length + 1) };
    }
  }
  return found;
}
