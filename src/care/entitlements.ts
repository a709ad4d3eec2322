/**
 * What an assistant may do, as the status table of seeds/README.md (from 004) says: one
 * pure function of the link's state and the account's state, so downstream apps never
 * re-implement it.
 */

/** A link of an assistant to a care recipient. */
export type LinkStatus = 'active' | 'inactive' | 'removed';

/** The columns of the table: a link's state, or the state of the account itself. */
export type AssistantState = LinkStatus | 'removedUser' | 'hardDeleted';

/** The rows of the table, for one state. */
export interface Entitlements {
  canSignIn: boolean;
  /** Sees schedule, time report and messages of that recipient. */
  seesSchedule: boolean;
  seesOwnProfile: boolean;
  canBeScheduled: boolean;
  listedAmongStaff: boolean;
  /** Whether shifts already staffed by the assistant stay staffed. */
  shiftsStayStaffed: 'yes' | 'untilNextSaved' | 'anonymised';
  /** Reminded to approve the time report (when they have shifts). */
  remindedToApproveTimeReport: boolean;
  recipientCanApproveTimeReport: boolean;
}

const TABLE: Record<AssistantState, Entitlements> = {
  active: {
    canSignIn: true,
    seesSchedule: true,
    seesOwnProfile: true,
    canBeScheduled: true,
    listedAmongStaff: true,
    shiftsStayStaffed: 'yes',
    remindedToApproveTimeReport: true,
    recipientCanApproveTimeReport: true,
  },
  inactive: {
    canSignIn: true,
    seesSchedule: true,
    seesOwnProfile: true,
    canBeScheduled: false,
    listedAmongStaff: true,
    shiftsStayStaffed: 'untilNextSaved',
    remindedToApproveTimeReport: true,
    recipientCanApproveTimeReport: true,
  },
  removed: {
    canSignIn: true,
    seesSchedule: false,
    seesOwnProfile: true,
    canBeScheduled: false,
    listedAmongStaff: true,
    shiftsStayStaffed: 'untilNextSaved',
    remindedToApproveTimeReport: true,
    recipientCanApproveTimeReport: false,
  },
  removedUser: {
    canSignIn: false,
    seesSchedule: false,
    seesOwnProfile: false,
    canBeScheduled: false,
    listedAmongStaff: false,
    shiftsStayStaffed: 'untilNextSaved',
    remindedToApproveTimeReport: true,
    recipientCanApproveTimeReport: false,
  },
  hardDeleted: {
    canSignIn: false,
    seesSchedule: false,
    seesOwnProfile: false,
    canBeScheduled: false,
    listedAmongStaff: false,
    shiftsStayStaffed: 'anonymised',
    remindedToApproveTimeReport: false,
    recipientCanApproveTimeReport: false,
  },
};

/** The entitlements of one state (a copy: callers may not change the table). */
export function entitlementsOf(state: AssistantState): Entitlements {
  return { ...TABLE[state] };
}

/**
 * The state that decides a link: the account's own state wins over the link's
 * (a removed user sees nothing of any recipient).
 */
export function linkState(
  link: LinkStatus,
  account: 'present' | 'removedUser' | 'hardDeleted',
): AssistantState {
  return account === 'present' ? link : account;
}
