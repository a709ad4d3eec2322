import type pg from 'pg';
import type { DirectoryContext } from '../directory/actor.ts';
import type { UserRecord } from '../directory/user-record.ts';
import type { UserDirectory } from '../directory/users.ts';
import { CARE_USER_SCHEMA, careOf } from './care-extension.ts';
import { Lifecycle } from './lifecycle.ts';
import { Sites } from './sites.ts';
import { StaffMembers } from './staff-members.ts';

/** Care attributes a cloned user keeps: staff member assignments and where and how they work. */
const CLONED = [
  'staffMembers',
  'roles',
  'workgroup',
  'owningOrganisation',
  'defaultLocation',
  'jobTitle',
];

/** The care directory: part of the one write path (src/directory), knowing no door. */
export interface CareDirectory {
  sites: Sites;
  staffMembers: StaffMembers;
  lifecycle: Lifecycle;
  /**
   * Clones a user: a new userName and password, the same staff member assignments and
   * care roles; no personal attributes, links or access flags. Goes through the user
   * directory, so the access rules apply as to any create.
   */
  cloneUser(
    ctx: DirectoryContext,
    sourceId: string,
    input: { userName: string; password?: string | undefined },
  ): Promise<UserRecord>;
}

export function createCareDirectory(pool: pg.Pool, users: UserDirectory): CareDirectory {
  return {
    sites: new Sites(pool),
    staffMembers: new StaffMembers(pool),
    lifecycle: new Lifecycle(pool, users),
    async cloneUser(ctx, sourceId, input) {
      const source = await users.get(ctx.tenantId, sourceId);
      const from = careOf(source.attrs);
      const ext: Record<string, unknown> = {};
      for (const k of CLONED) if (from[k] !== undefined) ext[k] = from[k];
      return users.create(ctx, {
        userName: input.userName,
        externalId: null,
        status: source.status === 'active' ? 'active' : 'pending',
        attrs: Object.keys(ext).length > 0 ? { [CARE_USER_SCHEMA]: ext } : {},
        password: input.password,
      });
    },
  };
}
