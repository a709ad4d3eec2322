import type pg from 'pg';

/**
 * Failed local sign-ins and lockouts, in the database so every instance counts the same
 * attempts. Each change is one statement: concurrent failures cannot lose a count.
 */
export class LocalLockouts {
  constructor(private readonly pool: pg.Pool) {}

  /** When the account's lockout ends, if it is locked now. */
  async lockedUntil(tenantId: string, userId: string): Promise<Date | undefined> {
    const { rows } = await this.pool.query<{ locked_until: Date }>(
      `select locked_until from local_signin_lockouts
       where tenant_id = $1 and user_id = $2 and locked_until > now()`,
      [tenantId, userId],
    );
    return rows[0]?.locked_until;
  }

  /** Counts a failure; the `max`-th in a row locks the account for `minutes` (and restarts the count). */
  async recordFailure(
    tenantId: string,
    userId: string,
    max: number,
    minutes: number,
  ): Promise<{ lockedUntil: Date | null; failures: number }> {
    const { rows } = await this.pool.query<{ locked_until: Date | null; failures: number }>(
      `insert into local_signin_lockouts as l (tenant_id, user_id, failed_count, last_failed_at, locked_until)
       values ($1, $2, case when 1 >= $3 then 0 else 1 end, now(),
               case when 1 >= $3 then now() + make_interval(mins => $4) end)
       on conflict (tenant_id, user_id) do update set
         failed_count = case when l.failed_count + 1 >= $3 then 0 else l.failed_count + 1 end,
         last_failed_at = now(),
         locked_until = case when l.failed_count + 1 >= $3 then now() + make_interval(mins => $4)
                             else l.locked_until end
       returning locked_until, failed_count as failures`,
      [tenantId, userId, max, minutes],
    );
    const row = rows[0];
    return { lockedUntil: row?.locked_until ?? null, failures: row?.failures ?? 0 };
  }

  /** A successful sign-in: the count starts again. */
  async reset(tenantId: string, userId: string): Promise<void> {
    await this.pool.query(
      `update local_signin_lockouts set failed_count = 0, locked_until = null
       where tenant_id = $1 and user_id = $2 and (failed_count <> 0 or locked_until is not null)`,
      [tenantId, userId],
    );
  }

  /** An admin unlocks the account; returns whether it was locked. */
  async unlock(tenantId: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `update local_signin_lockouts set failed_count = 0, locked_until = null
       where tenant_id = $1 and user_id = $2 and locked_until > now()`,
      [tenantId, userId],
    );
    return (rowCount ?? 0) > 0;
  }

  async mustChangePassword(tenantId: string, userId: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ must_change_password: boolean }>(
      'select must_change_password from local_signin_lockouts where tenant_id = $1 and user_id = $2',
      [tenantId, userId],
    );
    return rows[0]?.must_change_password === true;
  }

  /** Sets or clears "change password at next login". */
  async setMustChangePassword(tenantId: string, userId: string, value: boolean): Promise<void> {
    await this.pool.query(
      `insert into local_signin_lockouts (tenant_id, user_id, must_change_password) values ($1, $2, $3)
       on conflict (tenant_id, user_id) do update set must_change_password = excluded.must_change_password`,
      [tenantId, userId, value],
    );
  }
}
