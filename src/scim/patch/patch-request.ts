import { isObject } from '../attribute-value.ts';
import { invalidPath, invalidSyntax, invalidValue, noTarget, SCIMError } from '../scim-error.ts';

/** The schema of a PatchOp request (RFC 7644 §3.5.2). */
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Most operations one PATCH may carry. RFC 7644 sets no limit for PATCH; past it we answer
 * as §3.7.4 does for a bulk request over maxOperations: 413. Member changes are not counted
 * here: one operation may carry any number of members.
 */
export const MAX_PATCH_OPERATIONS = 1000;

/** The three operations of RFC 7644 §3.5.2, lower-cased. */
export type PatchOpName = 'add' | 'remove' | 'replace';

/** One checked operation of a PatchOp request. */
export interface PatchOperation {
  op: PatchOpName;
  /** Absent (or empty) targets the resource itself. */
  path: string | undefined;
  value: unknown;
}

const OPS = new Set<string>(['add', 'remove', 'replace']);

/**
 * Checks the PatchOp envelope: `schemas` names the PatchOp message, `Operations` is a
 * non-empty array of objects with a valid `op` (any case: Entra sends `Replace`), `path` a
 * string, `value` present for add and replace, `path` present for remove.
 * @see RFC 7644 §3.5.2
 */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('a PATCH body must be a JSON object');
  const schemas = field(body, 'schemas');
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())
  ) {
    throw invalidSyntax(`a PATCH body must carry schemas ["${PATCH_OP_SCHEMA}"]`);
  }
  const operations = field(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('Operations must be a non-empty array of operations');
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw new SCIMError(
      413,
      undefined,
      `a PATCH may carry at most ${MAX_PATCH_OPERATIONS} operations`,
    );
  }
  return operations.map(parseOperation);
}

function parseOperation(raw: unknown, i: number): PatchOperation {
  const where = `operation ${i + 1}`;
  if (!isObject(raw)) throw invalidSyntax(`${where} is not an object`);
  const name = field(raw, 'op');
  const op = typeof name === 'string' ? name.toLowerCase() : '';
  if (!OPS.has(op)) throw invalidSyntax(`${where}: op must be "add", "remove" or "replace"`);
  const rawPath = field(raw, 'path');
  if (rawPath !== undefined && rawPath !== null && typeof rawPath !== 'string') {
    throw invalidPath(`${where}: path must be a string`);
  }
  const path = typeof rawPath === 'string' && rawPath.trim() !== '' ? rawPath.trim() : undefined;
  const value = field(raw, 'value');
  if (op === 'remove' && path === undefined) {
    throw noTarget(`${where}: remove needs a path (RFC 7644 §3.5.2.2)`);
  }
  if (op !== 'remove' && value === undefined) {
    throw invalidValue(`${where}: ${op} needs a value (RFC 7644 §3.5.2.1, §3.5.2.3)`);
  }
  return { op: op as PatchOpName, path, value };
}

/** Message attribute names are case-insensitive like any other (RFC 7644 §3.10). */
function field(object: Record<string, unknown>, name: string): unknown {
  if (object[name] !== undefined) return object[name];
  const lowered = name.toLowerCase();
  for (const key in object) if (key.toLowerCase() === lowered) return object[key];
  return undefined;
}
