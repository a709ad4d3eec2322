import { expect } from 'vitest';
import type { TestApp } from '../../helpers/test-app.ts';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CARE_GROUP = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

/** What the rule tests do over SCIM, named after what an administrator would do. */
export function rulesClient(t: TestApp, token?: string) {
  const opts = (body?: unknown) => ({ ...(token ? { token } : {}), body });
  const client = {
    async createUser(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
      const res = await t.request(
        'POST',
        '/scim/v2/Users',
        opts({ schemas: [USER, ENTERPRISE], userName, ...extra }),
      );
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()).id;
    },
    patchUser(id: string, Operations: unknown[]) {
      return t.request('PATCH', `/scim/v2/Users/${id}`, opts({ schemas: [PATCH], Operations }));
    },
    async createGroup(
      displayName: string,
      ext: Record<string, unknown> = {},
      members: string[] = [],
    ): Promise<{ id: string; [k: string]: unknown }> {
      const res = await t.request(
        'POST',
        '/scim/v2/Groups',
        opts({
          schemas: [GROUP, CARE_GROUP],
          displayName,
          members: members.map((value) => ({ value })),
          [CARE_GROUP]: ext,
        }),
      );
      expect(res.status, await res.clone().text()).toBe(201);
      return res.json();
    },
    patchGroup(id: string, Operations: unknown[]) {
      return t.request('PATCH', `/scim/v2/Groups/${id}`, opts({ schemas: [PATCH], Operations }));
    },
    async group(id: string) {
      const res = await t.request('GET', `/scim/v2/Groups/${id}`, opts());
      expect(res.status).toBe(200);
      return res.json();
    },
    /** The member ids of a group, sorted. */
    async memberIds(groupId: string): Promise<string[]> {
      const g = await client.group(groupId);
      return ((g.members ?? []) as { value: string }[]).map((m) => m.value).sort();
    },
    /** Each member's sources, as the carebridge extension shows them. */
    async sources(groupId: string): Promise<Record<string, string[]>> {
      const g = await client.group(groupId);
      const out: Record<string, string[]> = {};
      for (const m of (g[CARE_GROUP]?.memberSources ?? []) as {
        value: string;
        sources: string[];
      }[])
        out[m.value] = m.sources;
      return out;
    },
    async user(id: string) {
      const res = await t.request('GET', `/scim/v2/Users/${id}`, opts());
      expect(res.status).toBe(200);
      return res.json();
    },
    /** The display names of a user's groups, sorted. */
    async groupNames(userId: string): Promise<string[]> {
      const u = await client.user(userId);
      return ((u.groups ?? []) as { display: string }[]).map((g) => g.display).sort();
    },
  };
  return client;
}

export const sorted = (ids: (string | undefined)[]) => ids.map(String).sort();
