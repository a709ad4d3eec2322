import { describe, expect, it } from 'vitest';
import { newId, UUID } from '../../src/directory/uuid.ts';

/** The 48-bit Unix milliseconds at the front of a UUIDv7. */
const millisOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('newId', () => {
  it('Should make UUIDv7 ids: version 7, the RFC 9562 variant, and the time of creation', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(UUID);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(after);
  });

  it('Should make ids that sort in the order they were made, across refills of the random pool', () => {
    // 5,000 ids: many in one millisecond, and the pool of 256 refilled about 20 times.
    const ids = Array.from({ length: 5_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('Should not repeat the random part of ids made in different milliseconds', async () => {
    const first = newId();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newId();
    expect(millisOf(second)).toBeGreaterThan(millisOf(first));
    expect(second.slice(-12)).not.toBe(first.slice(-12));
  });
});
