/**
 * Shared fixtures for the PATCH and resource-input tests: the schema URNs spelled out
 * (so the tests check the source's constants rather than reuse them), a PatchOp body
 * builder, one representative User and Group as the server renders them, and helpers to
 * freeze a resource and to catch the SCIMError a call throws.
 */
import type { SCIMResource } from '../../../src/scim/representation.ts';
import { SCIMError } from '../../../src/scim/scim-error.ts';

/** The core User schema (RFC 7643 §4.1). */
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
/** The core Group schema (RFC 7643 §4.2). */
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** The Enterprise User extension (RFC 7643 §4.3). */
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The PatchOp message (RFC 7644 §3.5.2). */
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const BASE_URL = 'https://carebridge.test/scim/v2';
const USER_ID = '2819c223-7f76-453a-919d-413861904646';
const GROUP_ID = 'e9e30dba-f08f-4109-8486-d5c6a331660a';

/** A PatchOp request body carrying `operations` in order (RFC 7644 §3.5.2). */
export function patchOp(...operations: Record<string, unknown>[]): {
  schemas: [typeof PATCH_OP];
  Operations: Record<string, unknown>[];
} {
  return { schemas: [PATCH_OP], Operations: operations };
}

/**
 * A night nurse as `userToSCIM` renders her: core attributes, two emails (the work one
 * primary), one mobile phone, one work address, one role, the enterprise extension with a
 * manager, and meta. She has no nickName, password or groups. A fresh copy on every call.
 */
export function representativeUser(): SCIMResource {
  return {
    schemas: [USER, ENTERPRISE],
    id: USER_ID,
    externalId: 'okta-1',
    userName: 'anna.berg',
    name: { formatted: 'Anna Berg', familyName: 'Berg', givenName: 'Anna' },
    displayName: 'Anna Berg',
    title: 'Night nurse',
    locale: 'sv-SE',
    emails: [
      { value: 'anna.berg@north.example', type: 'work', primary: true },
      { value: 'anna@home.example', type: 'home' },
    ],
    phoneNumbers: [{ value: '+46 70 123 45 67', type: 'mobile' }],
    addresses: [
      {
        type: 'work',
        streetAddress: 'Storgatan 1',
        locality: 'Umeå',
        country: 'SE',
        primary: true,
      },
    ],
    roles: [{ value: 'nurse', primary: true }],
    [ENTERPRISE]: { employeeNumber: '7', department: 'Night staff', manager: { value: 'mgr-1' } },
    active: true,
    meta: {
      resourceType: 'User',
      created: '2024-03-01T08:00:00.000Z',
      lastModified: '2024-03-02T09:30:00.000Z',
      location: `${BASE_URL}/Users/${USER_ID}`,
      version: 'W/"3"',
    },
  };
}

/**
 * A group as `groupToSCIM` renders it without loading its members: a PATCH never loads
 * them, so there is no `members` here. A fresh copy on every call.
 */
export function representativeGroup(): SCIMResource {
  return {
    schemas: [GROUP],
    id: GROUP_ID,
    externalId: 'okta-group-1',
    displayName: 'Night staff',
    meta: {
      resourceType: 'Group',
      created: '2024-03-01T08:00:00.000Z',
      lastModified: '2024-03-01T08:00:00.000Z',
      location: `${BASE_URL}/Groups/${GROUP_ID}`,
      version: 'W/"1"',
    },
  };
}

/** Freezes `value` and everything reachable from it, so any mutation throws; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Runs `fn`, which must throw a SCIMError, and returns that error for assertions. */
export function scimError(fn: () => unknown): SCIMError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SCIMError) return error;
    throw new Error(`expected a SCIMError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a SCIMError, but nothing was thrown');
}
