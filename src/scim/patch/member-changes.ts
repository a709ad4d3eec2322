import { normaliseValues } from '../attribute-value.ts';
import type { AttrNode } from '../schema-index.ts';
import { invalidFilter, invalidPath } from '../scim-error.ts';
import type { PatchPath } from './patch-path.ts';
import { type PatchOperation, type PatchOpName, parsePatchRequest } from './patch-request.ts';
import type { ValueFilter } from './value-filter.ts';

/** Member ids to add, and ids to remove or 'all'; the database applies removals first. */
export interface MemberChanges {
  add: string[];
  remove: string[] | 'all';
}

/**
 * The member changes of one PATCH, folded in operation order into one set-based change:
 * a group's members are never loaded to apply a PATCH (a group may have 50,000).
 */
export class MemberChangeSet {
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();
  private all = false;
  private touched = false;

  add(id: string): void {
    this.touched = true;
    this.added.add(id);
  }

  remove(id: string): void {
    this.touched = true;
    this.added.delete(id);
    if (!this.all) this.removed.add(id);
  }

  removeAll(): void {
    this.touched = true;
    this.all = true;
    this.added.clear();
    this.removed.clear();
  }

  /** Undefined when no operation touched the members. */
  result(): MemberChanges | undefined {
    if (!this.touched) return undefined;
    return { add: [...this.added], remove: this.all ? 'all' : [...this.removed] };
  }
}

/**
 * One operation on `members`, in the forms RFC 7644 §3.5.2 shows and Okta and Entra send:
 * add `members` with values; remove `members[value eq "id"]` (ids joined by `or`); remove
 * `members` with values (Entra, Okta) or without (all); replace `members` (all, then add).
 */
export function applyMemberOperation(
  changes: MemberChangeSet,
  op: PatchOpName,
  path: PatchPath,
  members: AttrNode,
  value: unknown,
): void {
  if (path.sub) {
    throw invalidPath(`${path.text}: members are added and removed whole, not by sub-attribute`);
  }
  if (path.filter) {
    if (op !== 'remove') {
      throw invalidPath(
        `${op} of ${path.text} is not supported: add members with path "members" and a value array`,
      );
    }
    for (const id of filterIds(path.filter)) changes.remove(id);
    return;
  }
  if (op === 'remove') {
    if (value == null) changes.removeAll();
    else for (const id of ids(members, value)) changes.remove(id);
    return;
  }
  if (op === 'replace') changes.removeAll();
  for (const id of ids(members, value)) changes.add(id);
}

function ids(members: AttrNode, value: unknown): string[] {
  // normaliseValues checks each member carries a string `value` and drops `"$ref": null`.
  return (normaliseValues(members, value) ?? []).map((m) => (m as { value: string }).value);
}

function filterIds(filter: ValueFilter): string[] {
  if (filter.kind === 'or') return filter.terms.flatMap(filterIds);
  if (
    filter.kind === 'compare' &&
    filter.operator === 'eq' &&
    filter.sub?.name === 'value' &&
    typeof filter.value === 'string'
  ) {
    return [filter.value];
  }
  throw invalidFilter(
    'a filter on members can only compare value with eq, joined by or: members[value eq "id"]',
  );
}

/**
 * Whether a PatchOp request only adds members (every operation an `add` to path `members`,
 * as Okta and Entra push groups), so the directory may send it without reading the group
 * first. A request that does not parse is not: it fails where it is applied.
 */
export function onlyAddsMembersRequest(body: unknown): boolean {
  let operations: PatchOperation[];
  try {
    operations = parsePatchRequest(body);
  } catch {
    return false;
  }
  return operations.every((o) => o.op === 'add' && o.path?.toLowerCase() === 'members');
}
