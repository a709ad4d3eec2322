import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CARE_GROUP = 'urn:ietf:params:scim:schemas:extension:carebridge:2.0:Group';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  for (const [displayName, rule] of [
    ['Night nurses', 'title eq "Night nurse"'],
    ['Cooks', 'title eq "Cook"'],
    ['Hand-picked', undefined],
  ] as const) {
    const res = await t.request('POST', '/scim/v2/Groups', {
      body: {
        schemas: [GROUP, CARE_GROUP],
        displayName,
        ...(rule ? { [CARE_GROUP]: { rule } } : {}),
      },
    });
    expect(res.status).toBe(201);
  }
});
afterAll(() => t.close());

const names = async (filter: string) => {
  const res = await t.request(
    'GET',
    `/scim/v2/Groups?filter=${encodeURIComponent(filter)}&excludedAttributes=members`,
  );
  expect(res.status).toBe(200);
  return ((await res.json()).Resources as { displayName: string }[])
    .map((g) => g.displayName)
    .sort();
};

describe('filtering groups by their rule and kind', () => {
  it('Should find the groups that carry a rule, and those whose rule names an attribute', async () => {
    expect(await names(`${CARE_GROUP}:rule pr`)).toEqual(['Cooks', 'Night nurses']);
    expect(await names(`${CARE_GROUP}:rule co "Night"`)).toEqual(['Night nurses']);
    expect(await names(`not (${CARE_GROUP}:rule pr)`)).toEqual(['All Users', 'Hand-picked']);
  });

  it('Should find the system group by its kind', async () => {
    expect(await names(`${CARE_GROUP}:kind eq "system"`)).toEqual(['All Users']);
  });
});
