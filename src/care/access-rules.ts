import { isDeepStrictEqual } from 'node:util';
import { DirectoryError } from '../directory/directory-error.ts';
import type { UserStatus } from '../directory/user-record.ts';
import {
  type CareExtension,
  enabledRoleNames,
  flag,
  linksOf,
  roleNames,
  rolesOf,
  staffMemberIdsOf,
} from './care-extension.ts';
import { type CareRole, highestRank, isCareRole, lowestRank, mayManage } from './care-roles.ts';

/** A care role a user holds through a group's grants (roles via groups), on a site. */
export interface GrantedCareRole {
  role: string;
  site: string | null;
}

/** Who asks, as the access rules see it. */
export type AccessActor =
  | { kind: 'system' }
  | { kind: 'client' }
  | {
      kind: 'user';
      id: string;
      status: UserStatus;
      ext: CareExtension;
      /** The care roles the actor's groups grant. */
      granted: GrantedCareRole[];
    };

/** Whether the role rule will decide a change by `actor` (so the target's grants are needed). */
export function roleRuleApplies(actor: AccessActor, targetId: string | undefined): boolean {
  return (
    actor.kind === 'user' &&
    actor.id !== targetId &&
    !flag(actor.ext, 'adminAccess') &&
    flag(actor.ext, 'elevatedAccess')
  );
}

/** Granted roles that give power: none on a site where the user is disabled. */
function grantedRoleNames(granted: GrantedCareRole[], ext?: CareExtension): CareRole[] {
  const disabled = new Set(
    rolesOf(ext ?? {})
      .filter((r) => r.disabled === true)
      .map((r) => r.site.toLowerCase()),
  );
  return granted
    .filter((g) => !(g.site && disabled.has(g.site.toLowerCase())))
    .map((g) => g.role)
    .filter(isCareRole);
}

/** One side of a change to an account. */
export interface AccountState {
  status: UserStatus;
  ext: CareExtension;
}

/** Care attributes a user can never change on their own account (`/Me`). */
export const SELF_SERVICE_LOCKED = [
  'roles',
  'primarySite',
  'primaryCareRole',
  'reportingRole',
  'staffMembers',
  'assistantLinks',
  'elevatedAccess',
  'adminAccess',
  'mainAdministrator',
  'workgroup',
  'owningOrganisation',
  'supportIssueCapability',
] as const;

const forbidden = (rule: string) => new DirectoryError('forbidden', rule);

// What a client wrote, without what carebridge computes (displays, entitlements).
function written(ext: CareExtension, name: string): unknown {
  if (name === 'staffMembers') return staffMemberIdsOf(ext);
  if (name === 'assistantLinks')
    return linksOf(ext).map((l) => [l.recipient, l.status ?? 'active']);
  return ext[name];
}

const changed = (before: CareExtension, after: CareExtension, name: string) =>
  !isDeepStrictEqual(written(before, name), written(after, name));

const leavesActive = (before: UserStatus | undefined, after: UserStatus) =>
  (after === 'inactive' || after === 'deleted') && before !== after;

/**
 * The rules of who may change whom (issue 3, point 7): admin access may do everything and
 * is the only one who grants admin access; elevated access manages access; otherwise a user
 * manages nobody. A user without admin access also needs ETO's role rule (see
 * {@link mayManage}) against the target's roles before and after; roles granted through
 * groups count on both sides. Nobody deactivates
 * themselves or the reserved system administrator. Throws `forbidden` naming the rule.
 */
export function checkAccountChange(
  actor: AccessActor,
  target: {
    id: string | undefined;
    before: AccountState | undefined;
    after: AccountState;
    /** The care roles the target's groups grant; read when {@link roleRuleApplies}. */
    granted?: GrantedCareRole[];
  },
): void {
  const before = target.before?.ext ?? {};
  const after = target.after.ext;
  if (actor.kind === 'system') return;
  if (
    flag(before, 'systemAdministrator') &&
    leavesActive(target.before?.status, target.after.status)
  ) {
    throw forbidden('the reserved system administrator cannot be deactivated or deleted');
  }
  if (
    changed(before, after, 'mainAdministrator') &&
    !(actor.kind === 'user' && flag(actor.ext, 'mainAdministrator'))
  ) {
    throw forbidden('only a main administrator may grant or remove main administrator rights');
  }
  if (actor.kind === 'client') return;

  if (actor.status !== 'active') throw forbidden('an account that is not active changes nothing');
  const admin = flag(actor.ext, 'adminAccess');
  const self = target.id !== undefined && target.id === actor.id;
  if (self && leavesActive(target.before?.status, target.after.status)) {
    throw forbidden('nobody can deactivate or delete their own account');
  }
  if (changed(before, after, 'adminAccess') && !admin) {
    throw forbidden('only a user with admin access may grant or remove admin access');
  }
  if (admin) return;
  if (self) {
    const locked = SELF_SERVICE_LOCKED.find((name) => changed(before, after, name));
    if (locked) throw forbidden(`a user cannot change their own ${locked}`);
    return;
  }
  if (!flag(actor.ext, 'elevatedAccess')) {
    throw forbidden('managing another account needs admin access or elevated access');
  }
  // Roles count whatever their source: the account's own and those its groups grant.
  const actorRoles = [
    ...enabledRoleNames(actor.ext),
    ...grantedRoleNames(actor.granted, actor.ext),
  ];
  const targetRoles = [
    ...roleNames(before),
    ...roleNames(after),
    ...grantedRoleNames(target.granted ?? []),
  ];
  if (!mayManage(actorRoles, targetRoles)) {
    throw forbidden(
      `role rule: a user may manage another only when their lowest care role is at least the other's highest (rank ${lowestRank(actorRoles)} < ${highestRank(targetRoles)})`,
    );
  }
}

/** What `/Me` may not change: roles, access flags and the other locked care attributes. */
export function checkSelfService(before: CareExtension, after: CareExtension): void {
  const locked = SELF_SERVICE_LOCKED.find((name) => changed(before, after, name));
  if (locked) throw forbidden(`/Me cannot change ${locked}: an administrator sets it`);
}

/**
 * Sites are configuration (admin access, as Care Partner's centres of care); staff members
 * are access management (admin or elevated access). Client tokens are limited by scope.
 */
export function checkCareAdmin(actor: AccessActor, what: 'sites' | 'staffMembers'): void {
  if (actor.kind !== 'user') return;
  if (actor.status !== 'active') throw forbidden('an account that is not active changes nothing');
  if (flag(actor.ext, 'adminAccess')) return;
  if (what === 'staffMembers' && flag(actor.ext, 'elevatedAccess')) return;
  throw forbidden(
    what === 'sites'
      ? 'changing sites needs admin access'
      : 'changing staff members needs admin access or elevated access',
  );
}
