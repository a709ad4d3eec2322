import {
  type AttrNode,
  type ResourceIndex,
  type SchemaIndex,
  splitSchemaURN,
} from '../schema-index.ts';
import { invalidPath } from '../scim-error.ts';
import { parseValueFilter, type ValueFilter } from './value-filter.ts';

/**
 * Where a PATCH operation lands: `attr`, `attr.sub`, `urn:…:attr[.sub]`, `attr[filter]`,
 * `attr[filter].sub`, or a whole extension (`urn:…:enterprise:2.0:User`).
 * @see RFC 7644 §3.5.2 (figure 7), §3.10
 */
export interface PatchPath {
  /** The path as the client wrote it, for messages. */
  readonly text: string;
  readonly schema: SchemaIndex;
  /** Undefined when the path names a whole schema rather than one of its attributes. */
  readonly attribute: AttrNode | undefined;
  readonly filter: ValueFilter | undefined;
  readonly sub: AttrNode | undefined;
}

const NAME = /^[A-Za-z$][\w$-]*/;
const CACHE_LIMIT = 512;

/**
 * Parses and resolves a PATCH path, case-insensitively. Real clients send a handful of
 * distinct paths, so results are memoised per resource type (bounded).
 * @throws SCIMError invalidPath for a malformed path or one no schema defines,
 *   invalidFilter for a malformed value filter.
 */
export function parsePatchPath(index: ResourceIndex, text: string): PatchPath {
  const cached = index.pathCache.get(text) as PatchPath | undefined;
  if (cached) return cached;
  const parsed = parse(index, text);
  if (index.pathCache.size >= CACHE_LIMIT) index.pathCache.clear();
  index.pathCache.set(text, parsed);
  return parsed;
}

/** The path of one attribute, as if the client had written it. */
export function attributePath(schema: SchemaIndex, attribute: AttrNode): PatchPath {
  return { text: attribute.path, schema, attribute, filter: undefined, sub: undefined };
}

function parse(index: ResourceIndex, text: string): PatchPath {
  let schema = index.core;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const split = splitSchemaURN(index, text);
    if (!split)
      throw invalidPath(`"${text}" does not start with a schema of ${index.resourceType}`);
    schema = split.schema;
    rest = split.rest;
    if (rest === '')
      return { text, schema, attribute: undefined, filter: undefined, sub: undefined };
  }
  const name = NAME.exec(rest)?.[0];
  if (!name) throw invalidPath(`"${text}" is not an attribute path`);
  const attribute = schema.attributes.get(name.toLowerCase());
  if (!attribute)
    throw invalidPath(
      `${index.resourceType} has no attribute "${name}"${schema.extension ? ` in ${schema.urn}` : ''}`,
    );
  let pos = name.length;
  let filter: ValueFilter | undefined;
  if (rest[pos] === '[') {
    const close = closingBracket(rest, pos);
    if (close < 0) throw invalidPath(`"${text}" opens a "[" it never closes`);
    if (!attribute.def.multiValued) {
      throw invalidPath(
        `${attribute.path} is single-valued: a value filter […] selects values of a multi-valued attribute`,
      );
    }
    filter = parseValueFilter(attribute, rest.slice(pos + 1, close));
    pos = close + 1;
  }
  let sub: AttrNode | undefined;
  if (pos < rest.length) {
    const subName = rest[pos] === '.' ? NAME.exec(rest.slice(pos + 1))?.[0] : undefined;
    if (!subName || pos + 1 + subName.length !== rest.length)
      throw invalidPath(`"${text}" is not an attribute path`);
    sub = attribute.subs?.get(subName.toLowerCase());
    if (!sub) throw invalidPath(`${attribute.path} has no sub-attribute "${subName}"`);
  }
  return { text, schema, attribute, filter, sub };
}

/** The index of the `]` closing the `[` at `open`, skipping quoted strings; -1 if none. */
function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === ']') {
      return i;
    }
  }
  return -1;
}
