import { describe, expect, it } from 'vitest';
import { type AssistantState, entitlementsOf, linkState } from '../../src/care/entitlements.ts';

// The status table of ../shared/seeds/README.md (from 004), column by column.
const COLUMNS: AssistantState[] = ['active', 'inactive', 'removed', 'removedUser', 'hardDeleted'];
const TABLE = {
  canSignIn: [true, true, true, false, false],
  seesSchedule: [true, true, false, false, false],
  seesOwnProfile: [true, true, true, false, false],
  canBeScheduled: [true, false, false, false, false],
  listedAmongStaff: [true, true, true, false, false],
  shiftsStayStaffed: ['yes', 'untilNextSaved', 'untilNextSaved', 'untilNextSaved', 'anonymised'],
  remindedToApproveTimeReport: [true, true, true, true, false],
  recipientCanApproveTimeReport: [true, true, false, false, false],
} as const;

describe('Assistant entitlements follow the seed table', () => {
  for (const [row, cells] of Object.entries(TABLE)) {
    cells.forEach((expected, i) => {
      const column = COLUMNS[i] as AssistantState;
      it(`Should give ${row} = ${String(expected)} for ${column}`, () => {
        expect(entitlementsOf(column)[row as keyof typeof TABLE]).toBe(expected);
      });
    });
  }

  it('Should let the account state win over the link state', () => {
    expect(linkState('active', 'removedUser')).toBe('removedUser');
    expect(linkState('inactive', 'present')).toBe('inactive');
    expect(linkState('removed', 'hardDeleted')).toBe('hardDeleted');
  });

  it('Should hand out copies the caller cannot use to change the table', () => {
    const e = entitlementsOf('active');
    e.canSignIn = false;
    expect(entitlementsOf('active').canSignIn).toBe(true);
  });
});
