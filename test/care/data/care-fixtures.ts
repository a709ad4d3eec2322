import { expect } from 'vitest';
import type { Scope } from '../../../src/keys/api-tokens.ts';
import type { TestApp } from '../../helpers/test-app.ts';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CARE = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:User';
export const STAFF = 'urn:ietf:params:scim:schemas:carebridge:2.0:StaffMember';
export const SITE = 'urn:ietf:params:scim:schemas:carebridge:2.0:Site';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Creates a site (or a program under `parent`) over SCIM with a client token. */
export async function createSite(
  t: TestApp,
  code: string,
  opts: { parent?: string; token?: string } = {},
): Promise<{ id: string; code: string }> {
  const res = await t.request('POST', '/scim/v2/Sites', {
    ...(opts.token ? { token: opts.token } : {}),
    body: {
      schemas: [SITE],
      code,
      displayName: `Site ${code}`,
      ...(opts.parent ? { kind: 'program', parent: opts.parent } : {}),
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** Creates a user over SCIM with a client token; `care` is its care extension. */
export async function createUser(
  t: TestApp,
  userName: string,
  care: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<{ id: string; [k: string]: unknown }> {
  const res = await t.request('POST', '/scim/v2/Users', {
    body: {
      schemas: [USER, CARE],
      userName,
      ...extra,
      ...(Object.keys(care).length > 0 ? { [CARE]: care } : {}),
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** A token that acts as `userId` (the access rules apply to that user). */
export function tokenFor(t: TestApp, userId: string, scopes: Scope[] = ['scim', 'admin']) {
  return t.token({ userId, scopes });
}

/** A PatchOp body replacing care attributes. */
export function replaceCare(value: Record<string, unknown>) {
  return { schemas: [PATCH], Operations: [{ op: 'replace', path: CARE, value }] };
}
