import { Migration } from '@mikro-orm/migrations';

/**
 * `group_members` without its two foreign keys. PostgreSQL checks a foreign key row by row,
 * one lookup and one row lock per inserted membership: an IdP pushing 32 PATCHes of 100
 * members spent 42 of the insert's 68 ms in those checks. What they guarded is held by
 * the write path instead (src/directory/group-member-adds.ts, groups.ts):
 * - a membership names an account of its tenant that is not deleted, checked in the
 *   statement that inserts it (stricter than the key, which did not know tenants); accounts
 *   are never deleted, only marked so and erased in place;
 * - a membership's group exists: manual ones are inserted under the group's row lock,
 *   rule ones under the tenant's rule lock, which deleting a rule group takes exclusively;
 *   the delete removes the group's memberships itself, in its own transaction.
 */
export class Migration0006GroupMemberKeys extends Migration {
  override name = '0006-group-member-keys';

  override up(): void {
    this.addSql(
      'alter table group_members drop constraint if exists group_members_group_id_fkey, drop constraint if exists group_members_user_id_fkey',
    );
  }
}
