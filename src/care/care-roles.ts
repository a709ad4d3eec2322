/**
 * The care role hierarchy of ETO, highest first. `assistant` (the Swedish scheduling
 * system's role) ranks with `staff`: it manages nobody above staff.
 */
export const CARE_ROLES = [
  'enterpriseManager',
  'siteManager',
  'departmentHead',
  'programManager',
  'staff',
  'funderReportsOnly',
  'intake',
  'surveyTaker',
  'entitySelfService',
  'assistant',
] as const;

export type CareRole = (typeof CARE_ROLES)[number];

const RANK: Record<CareRole, number> = {
  enterpriseManager: 9,
  siteManager: 8,
  departmentHead: 7,
  programManager: 6,
  staff: 5,
  assistant: 5,
  funderReportsOnly: 4,
  intake: 3,
  surveyTaker: 2,
  entitySelfService: 1,
};

export function isCareRole(s: unknown): s is CareRole {
  return typeof s === 'string' && (CARE_ROLES as readonly string[]).includes(s);
}

/** The rank of a role: higher manages lower. */
export function roleRank(role: CareRole): number {
  return RANK[role];
}

/** The rank of a user's lowest role across the tenant; 0 for a user with no role. */
export function lowestRank(roles: readonly CareRole[]): number {
  return roles.length === 0 ? 0 : Math.min(...roles.map(roleRank));
}

/** The rank of a user's highest role across the tenant; 0 for a user with no role. */
export function highestRank(roles: readonly CareRole[]): number {
  return roles.length === 0 ? 0 : Math.max(...roles.map(roleRank));
}

/**
 * ETO's rule: A may manage B when A's lowest role across the tenant is at least B's
 * highest. A user without roles manages only users without roles.
 */
export function mayManage(
  actorRoles: readonly CareRole[],
  targetRoles: readonly CareRole[],
): boolean {
  return lowestRank(actorRoles) >= highestRank(targetRoles);
}
