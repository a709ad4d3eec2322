import { inTenant } from '../db/sql.ts';
import {
  batchedReferenceLookup,
  type FoundReferences,
  type ReferenceLookup,
  type References,
} from './user-care.ts';

/**
 * What the writes of a batch were told about the references they name, keyed so that
 * PostgreSQL computes the same JSON object from the tables ({@link referenceFactsSQL}):
 * jsonb objects compare without regard to key order.
 */
export interface ReferenceFacts {
  sites: Record<string, { kind: string; parent: string | null }>;
  staff: Record<string, string>;
  recipients: Record<string, true>;
  multiple: boolean;
}

/** The references a batch named and what it was told of them, for its transaction to check. */
export interface ToldReferences {
  refs: References;
  facts: ReferenceFacts;
}

/**
 * The facts of {@link ReferenceFacts} as they are now, for the references in `sites`
 * (site and program codes, lower-cased), `staff` and `recipients` (ids): SQL over the
 * statement's parameters. The tenant is `tenant`.
 */
export function referenceFactsSQL(p: {
  tenant: string;
  sites: string;
  staff: string;
  recipients: string;
}): string {
  return `jsonb_build_object(
    'sites', coalesce((
      select jsonb_object_agg(lower(s.attrs->>'code'), jsonb_build_object(
               'kind', coalesce(s.attrs->>'kind', 'site'), 'parent', lower(pa.attrs->>'code')))
      from sites s left join sites pa on pa.id = s.parent_id
      where s.tenant_id = ${p.tenant} and lower(s.attrs->>'code') = any(${p.sites}::text[])), '{}'::jsonb),
    'staff', coalesce((
      select jsonb_object_agg(m.id, m.display_name) from staff_members m
      where m.id = any(${p.staff}::uuid[]) and ${inTenant('m', p.tenant)}), '{}'::jsonb),
    'recipients', coalesce((
      select jsonb_object_agg(u.id, true) from users u
      where u.id = any(${p.recipients}::uuid[]) and ${inTenant('u', p.tenant)} and u.status <> 'deleted'), '{}'::jsonb),
    'multiple', coalesce((select (t.settings->>'multipleStaffMembersPerUser')::boolean
                          from tenants t where t.id = ${p.tenant}), false))`;
}

/** What one tenant's lookups found, positive facts only. */
interface Known {
  sites: Map<string, { kind: string; parent: string | null }>;
  staff: Map<string, string>;
  multiple: boolean;
}

/** Keys one tenant's cache holds before it starts again empty (sites and staff members). */
const MAX_KEYS = 100_000;

/**
 * Remembers, per tenant, the sites and staff members that the creates' reference checks
 * found, so that a batch of creates naming known ones needs no lookup before its
 * transaction: a lookup is a round trip of its own. Care recipients are presumed to exist:
 * they are accounts, nearly every create names new ones (an organisation's assistants are
 * linked to its many clients), and a name that is wrong is rare. Nothing is trusted: the
 * batch's transaction computes the same facts again under the rule lock and stores
 * nothing when they differ from what the batch was told (users-batch.ts), and the batch
 * is then prepared again on fresh lookups. A refusal never rests on remembered or presumed
 * facts (only what exists is remembered); a write refused after such an answer is checked
 * again on a fresh one.
 */
export class ReferenceCache {
  private readonly tenants = new Map<string, Known>();

  /** `maxKeys`: how many sites and staff members one tenant's answers are remembered for. */
  constructor(private readonly opts: { maxKeys?: number } = {}) {}

  /** Forgets what the tenant's lookups found (its transaction saw other facts). */
  forget(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  /**
   * The lookups of one batch of creates, and what they told it; with `presume: false`
   * (a batch prepared again because its facts were wrong) every answer is looked up.
   */
  forBatch(opts: { presume?: boolean } = {}): BatchReferences {
    return new BatchReferences(this.tenants, opts.presume ?? true, this.opts.maxKeys ?? MAX_KEYS);
  }
}

/** One batch's reference lookups: remembered answers where they suffice, else one query. */
export class BatchReferences {
  private readonly fresh = batchedReferenceLookup();
  private readonly refs: References = { siteCodes: [], staff: [], recipients: [] };
  private facts: ReferenceFacts | undefined;
  private conflicting = false;

  constructor(
    private readonly tenants: Map<string, Known>,
    private readonly presume: boolean,
    private readonly maxKeys: number,
  ) {}

  /**
   * A lookup for one write; `remembered()` says whether its answer came from the cache
   * (and the presumption about recipients) rather than the database.
   */
  forWrite(opts: { fresh?: boolean } = {}): { lookup: ReferenceLookup; remembered(): boolean } {
    let remembered = false;
    const lookup: ReferenceLookup = async (db, tenantId, refs) => {
      this.refs.siteCodes.push(...refs.siteCodes);
      this.refs.staff.push(...refs.staff);
      this.refs.recipients.push(...refs.recipients);
      const known = this.tenants.get(tenantId);
      let found = opts.fresh || !this.presume || !known ? undefined : answerFrom(known, refs);
      remembered = found !== undefined;
      found ??= await this.fresh(db, tenantId, refs);
      if (!remembered) this.remember(tenantId, found);
      this.tell(found);
      return found;
    };
    return { lookup, remembered: () => remembered };
  }

  /**
   * What the batch's writes named and were told: `none` when none named anything,
   * `conflicting` when two of them were told different things (a lookup between them saw
   * a change; the caller prepares the batch again).
   */
  told(): ToldReferences | 'none' | 'conflicting' {
    if (this.conflicting) return 'conflicting';
    if (!this.facts) return 'none';
    const unique = (list: string[]) => [...new Set(list)];
    return {
      refs: {
        siteCodes: unique(this.refs.siteCodes),
        staff: unique(this.refs.staff),
        recipients: unique(this.refs.recipients),
      },
      facts: this.facts,
    };
  }

  private tell(found: FoundReferences): void {
    this.facts ??= {
      sites: {},
      staff: {},
      recipients: {},
      multiple: found.multiple,
    };
    const facts = this.facts;
    // Compared field by field: every write of a batch tells its facts again.
    if (facts.multiple !== found.multiple) this.conflicting = true;
    for (const s of found.sites ?? []) {
      const had = facts.sites[s.code];
      if (!had) facts.sites[s.code] = { kind: s.kind, parent: s.parent };
      else if (had.kind !== s.kind || had.parent !== s.parent) this.conflicting = true;
    }
    for (const m of found.staff ?? []) {
      const had = facts.staff[m.id];
      if (had === undefined) facts.staff[m.id] = m.display;
      else if (had !== m.display) this.conflicting = true;
    }
    for (const id of found.recipients ?? []) facts.recipients[id] = true;
  }

  private remember(tenantId: string, found: FoundReferences): void {
    let known = this.tenants.get(tenantId);
    const size = known ? known.sites.size + known.staff.size : 0;
    // A bound on memory, not an eviction policy: a tenant with that many is rare.
    if (!known || size >= this.maxKeys) {
      known = { sites: new Map(), staff: new Map(), multiple: found.multiple };
      this.tenants.set(tenantId, known);
    }
    known.multiple = found.multiple;
    for (const s of found.sites ?? []) known.sites.set(s.code, { kind: s.kind, parent: s.parent });
    for (const m of found.staff ?? []) known.staff.set(m.id, m.display);
  }
}

/**
 * The answer the cache gives when it knows every site and staff member asked for (every
 * recipient presumed to exist), else undefined.
 */
function answerFrom(known: Known, refs: References): FoundReferences | undefined {
  const sites: NonNullable<FoundReferences['sites']> = [];
  for (const code of refs.siteCodes) {
    const site = known.sites.get(code);
    if (!site) return undefined;
    sites.push({ code, ...site });
  }
  const staff: NonNullable<FoundReferences['staff']> = [];
  for (const id of refs.staff) {
    const display = known.staff.get(id);
    if (display === undefined) return undefined;
    staff.push({ id, display });
  }
  return {
    sites,
    staff,
    recipients: [...refs.recipients],
    multiple: known.multiple,
  };
}
