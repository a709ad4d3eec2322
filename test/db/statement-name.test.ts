import { describe, expect, it } from 'vitest';
import { statementName } from '../../src/db/sql.ts';

describe('names of generated prepared statements', () => {
  it('Should give one statement text one name, and different texts different names', () => {
    const a = statementName('SELECT u.* FROM users u WHERE u.tenant_id = $1');
    expect(a).toMatch(/^gen_[0-9a-f]{20}$/);
    expect(statementName('SELECT u.* FROM users u WHERE u.tenant_id = $1')).toBe(a);
    expect(statementName('SELECT g.* FROM groups g WHERE g.tenant_id = $1')).not.toBe(a);
  });

  it('Should stop naming new texts past its bound, and keep the names it gave', () => {
    const first = statementName('SELECT 1');
    const names = Array.from({ length: 600 }, (_, i) => statementName(`SELECT ${i + 2}`));
    expect(names.filter((n) => n === undefined).length).toBeGreaterThan(0);
    expect(new Set(names.filter(Boolean)).size).toBe(names.filter(Boolean).length);
    expect(statementName('SELECT 1')).toBe(first);
  });
});
