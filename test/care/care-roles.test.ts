import { describe, expect, it } from 'vitest';
import {
  CARE_ROLES,
  highestRank,
  lowestRank,
  mayManage,
  roleRank,
} from '../../src/care/care-roles.ts';

describe('The care role hierarchy', () => {
  it('Should rank Enterprise Manager > Site Manager > … > Entity Self Service', () => {
    const ranked = CARE_ROLES.filter((r) => r !== 'assistant').map(roleRank);
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
    expect(new Set(ranked).size).toBe(ranked.length);
  });

  it("Should let A manage B when A's lowest role is at least B's highest", () => {
    expect(mayManage(['siteManager'], ['programManager', 'staff'])).toBe(true);
    expect(mayManage(['siteManager'], ['siteManager'])).toBe(true);
  });

  it('Should refuse a Program Manager managing a Site Manager', () => {
    expect(mayManage(['programManager'], ['siteManager'])).toBe(false);
  });

  it('Should judge A by their lowest role across the tenant, B by their highest', () => {
    // Enterprise Manager on one site but Intake on another manages only up to Intake.
    expect(mayManage(['enterpriseManager', 'intake'], ['staff'])).toBe(false);
    expect(mayManage(['enterpriseManager', 'intake'], ['intake', 'surveyTaker'])).toBe(true);
    // B's highest role counts, wherever it is.
    expect(mayManage(['departmentHead'], ['entitySelfService', 'siteManager'])).toBe(false);
  });

  it('Should let a user without roles manage only users without roles', () => {
    expect(lowestRank([])).toBe(0);
    expect(highestRank([])).toBe(0);
    expect(mayManage([], [])).toBe(true);
    expect(mayManage([], ['entitySelfService'])).toBe(false);
  });

  it('Should rank an assistant with staff', () => {
    expect(roleRank('assistant')).toBe(roleRank('staff'));
  });
});
