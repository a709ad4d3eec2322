import { isDeepStrictEqual } from 'node:util';
import { isObject, type JSONObject } from '../attribute-value.ts';
import type { SCIMResource } from '../representation.ts';
import type { AttrNode, ResourceIndex } from '../schema-index.ts';
import { GROUP_SCHEMA } from '../schema-registry.ts';
import { MemberChangeSet } from './member-changes.ts';

/**
 * The resource being patched, copy-on-write: the input is never mutated, and what no
 * operation touched is shared with it. Remembers which top-level keys operations touched,
 * so "did anything change" compares only those.
 */
export class PatchDraft {
  readonly out: SCIMResource;
  /** Set for Groups: member operations are folded here instead of into the resource. */
  readonly members: MemberChangeSet | undefined;
  readonly membersAttribute: AttrNode | undefined;
  private readonly touched = new Set<string>();
  private readonly ownedExtensions = new Set<string>();

  constructor(
    readonly index: ResourceIndex,
    private readonly original: SCIMResource,
  ) {
    this.out = { ...original };
    if (index.core.urn === GROUP_SCHEMA) {
      this.membersAttribute = index.core.attributes.get('members');
      this.members = new MemberChangeSet();
    }
  }

  get(attribute: AttrNode): unknown {
    const container = attribute.extension ? this.out[attribute.schema] : this.out;
    return isObject(container) ? container[attribute.name] : undefined;
  }

  set(attribute: AttrNode, value: unknown): void {
    let container: JSONObject = this.out;
    if (attribute.extension) {
      const urn = attribute.schema;
      if (!this.ownedExtensions.has(urn)) {
        const stored = this.out[urn];
        this.out[urn] = isObject(stored) ? { ...stored } : {};
        this.ownedExtensions.add(urn);
      }
      container = this.out[urn] as JSONObject;
      this.touched.add(urn);
    } else {
      this.touched.add(attribute.name);
    }
    if (value === undefined) delete container[attribute.name];
    else container[attribute.name] = value;
  }

  /** The patched resource, whether it differs from the input, and `schemas` kept in step. */
  finish(): { resource: SCIMResource; changed: boolean } {
    let changed = false;
    let extensionTouched = false;
    for (const key of this.touched) {
      if (this.ownedExtensions.has(key)) {
        extensionTouched = true;
        if (Object.keys(this.out[key] as JSONObject).length === 0) delete this.out[key];
      }
      if (!changed && !isDeepStrictEqual(this.original[key], this.out[key])) changed = true;
    }
    if (extensionTouched) {
      const schemas = [this.index.core.urn];
      for (const schema of this.index.schemas) {
        if (schema.extension && this.out[schema.urn] !== undefined) schemas.push(schema.urn);
      }
      this.out['schemas'] = schemas;
    }
    return { resource: changed ? this.out : this.original, changed };
  }
}
