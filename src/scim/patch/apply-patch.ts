import { isDeepStrictEqual } from 'node:util';
import { isObject } from '../attribute-value.ts';
import type { SCIMResource } from '../representation.ts';
import { type AttrNode, resourceIndex, type SchemaIndex } from '../schema-index.ts';
import type { SchemaRegistry } from '../schema-registry.ts';
import { invalidValue, mutability, SCIMError } from '../scim-error.ts';
import { applyMemberOperation, type MemberChanges } from './member-changes.ts';
import { PatchDraft } from './patch-draft.ts';
import { attributePath, type PatchPath, parsePatchPath } from './patch-path.ts';
import { type PatchOperation, type PatchOpName, parsePatchRequest } from './patch-request.ts';
import { nextValue } from './patch-target.ts';

export type { MemberChanges } from './member-changes.ts';

/** What a PATCH did. */
export interface PatchResult {
  /** The patched canonical resource (the input itself when nothing changed). */
  resource: SCIMResource;
  /**
   * Whether the resource's own attributes changed; when false the caller leaves
   * meta.lastModified and the version alone (RFC 7644 §3.5.2.1). Member changes are not
   * counted: only the database knows whether they change anything.
   */
  changed: boolean;
  /** For a Group, the member additions and removals, for the database to apply set-based. */
  memberChanges?: MemberChanges;
}

/**
 * Applies a PatchOp request to a canonical resource, in memory, atomically: any failing
 * operation throws a SCIMError naming it, and nothing is returned (RFC 7644 §3.5.2). The
 * input is not mutated. Values go through the same normalisation as POST and PUT bodies.
 * @see RFC 7644 §3.5.2
 */
export function applyPatch(
  registry: SchemaRegistry,
  resourceType: string,
  resource: SCIMResource,
  request: unknown,
): PatchResult {
  const operations = parsePatchRequest(request);
  const draft = new PatchDraft(resourceIndex(registry, resourceType), resource);
  for (let i = 0; i < operations.length; i++) {
    const operation = operations[i] as PatchOperation;
    try {
      applyOperation(draft, operation);
    } catch (error) {
      if (!(error instanceof SCIMError)) throw error;
      const where = `operation ${i + 1} (${operation.op}${operation.path ? ` ${operation.path}` : ''})`;
      throw new SCIMError(error.status, error.scimType, `${where}: ${error.detail}`);
    }
  }
  const memberChanges = draft.members?.result();
  return memberChanges ? { ...draft.finish(), memberChanges } : draft.finish();
}

function applyOperation(draft: PatchDraft, { op, path, value }: PatchOperation): void {
  const parsed = path === undefined ? undefined : parsePatchPath(draft.index, path);
  if (parsed?.attribute) applyAt(draft, op, parsed, value);
  else if (parsed?.schema.extension) applyToSchema(draft, op, parsed.schema, value);
  else applyToResource(draft, op, value);
}

/**
 * No path: `value` holds attributes to add or replace (RFC 7644 §3.5.2.1, §3.5.2.3). Its
 * keys may be paths too, as Entra sends (`"name.givenName"`, `"emails[type eq \"work\"].value"`,
 * `"urn:…:enterprise:2.0:User:employeeNumber"`), or an extension URN with an object.
 */
function applyToResource(draft: PatchDraft, op: PatchOpName, value: unknown): void {
  if (!isObject(value)) throw invalidValue('without a path, value must be an object of attributes');
  for (const key in value) {
    if (key.toLowerCase() === 'schemas') continue;
    const path = parsePatchPath(draft.index, key);
    if (path.attribute) applyAt(draft, op, path, value[key]);
    else if (path.schema.extension) applyToSchema(draft, op, path.schema, value[key]);
    else applyToResource(draft, op, value[key]);
  }
}

/** A whole extension: its attributes merged in, or (remove, replace with null) unassigned. */
function applyToSchema(
  draft: PatchDraft,
  op: PatchOpName,
  schema: SchemaIndex,
  value: unknown,
): void {
  if (op === 'remove' || value === null) {
    if (op === 'add') return;
    for (const attribute of schema.list) {
      if (draft.get(attribute) !== undefined) {
        applyAt(draft, 'remove', attributePath(schema, attribute), undefined);
      }
    }
    return;
  }
  if (!isObject(value)) throw invalidValue(`${schema.urn} takes an object of its attributes`);
  for (const key in value) {
    applyAt(draft, op, parsePatchPath(draft.index, `${schema.urn}:${key}`), value[key]);
  }
}

function applyAt(draft: PatchDraft, op: PatchOpName, path: PatchPath, value: unknown): void {
  const attribute = path.attribute!;
  if (draft.members && attribute === draft.membersAttribute) {
    applyMemberOperation(draft.members, op, path, attribute, value);
    return;
  }
  const current = draft.get(attribute);
  const target = path.sub ?? attribute;
  if (attribute.def.mutability === 'readOnly' || target.def.mutability === 'readOnly') {
    checkReadOnly(op, path, current, value);
    return;
  }
  const next = nextValue(op, path, current, value);
  if (next === current) return;
  checkImmutable(path, current, next);
  if (next === undefined && attribute.def.required) {
    throw mutability(`${attribute.path} is required and cannot be removed (RFC 7644 §3.5.2.2)`);
  }
  draft.set(attribute, next);
}

/**
 * An immutable attribute (or sub-attribute of a single complex one) may be set only while
 * it has no value (RFC 7644 §3.5.2: "a client MAY add a value to an immutable attribute if
 * the attribute had no previous value").
 */
function checkImmutable(path: PatchPath, current: unknown, next: unknown): void {
  const attribute = path.attribute!;
  const sub = path.sub;
  if (attribute.def.mutability === 'immutable') {
    refuseChange(attribute, current, next);
  } else if (sub && !attribute.def.multiValued && sub.def.mutability === 'immutable') {
    const value = (v: unknown) => (isObject(v) ? v[sub.name] : undefined);
    refuseChange(sub, value(current), value(next));
  }
}

function refuseChange(node: AttrNode, was: unknown, now: unknown): void {
  if (was !== undefined && !isDeepStrictEqual(was, now)) {
    throw mutability(`${node.path} is immutable: it can only be set while it has no value`);
  }
}

/**
 * A client must not modify a read-only attribute (RFC 7644 §3.5.2). Sending back the value
 * it already has is no modification: Okta renames a group with `replace {id, displayName}`;
 * `null` and `[]` are the same as no value (RFC 7643 §2.5). Anything else is mutability.
 */
function checkReadOnly(op: PatchOpName, path: PatchPath, current: unknown, value: unknown): void {
  const was = path.sub ? (isObject(current) ? current[path.sub.name] : undefined) : current;
  const given =
    op === 'remove' || value === null || (Array.isArray(value) && value.length === 0)
      ? undefined
      : value;
  if (path.filter !== undefined || !isDeepStrictEqual(given, was)) {
    throw mutability(`${(path.sub ?? path.attribute)?.path} is read-only`);
  }
}
