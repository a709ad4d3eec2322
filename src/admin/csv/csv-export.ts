import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Queryable } from '../../db/sql.ts';
import { ENTERPRISE_USER_SCHEMA } from '../../scim/schema-registry.ts';

/** The export's columns: the create template's first three, then what an update file sets. */
export const EXPORT_COLUMNS = [
  'email',
  'username',
  'language',
  'name.givenName',
  'name.familyName',
  'displayName',
  'title',
  'externalId',
  `${ENTERPRISE_USER_SCHEMA}:employeeNumber`,
  'status',
  'created',
] as const;

const PAGE = 1_000;

interface ExportRow {
  id: string;
  user_name: string;
  primary_email: string | null;
  external_id: string | null;
  status: string;
  created_at: Date;
  language: string | null;
  given: string | null;
  family: string | null;
  display: string | null;
  title: string | null;
  employee: string | null;
}

// Keyset paging on the (tenant_id, id) index: each page is one indexed range read.
const PAGE_SQL = `
  select id, user_name, primary_email, external_id, status, created_at,
         attrs->>'preferredLanguage' as language, attrs#>>'{name,givenName}' as given,
         attrs#>>'{name,familyName}' as family, attrs->>'displayName' as display,
         attrs->>'title' as title, attrs->'${ENTERPRISE_USER_SCHEMA}'->>'employeeNumber' as employee
  from users where tenant_id = $1 and status <> 'deleted' and id > $2
  order by id limit ${PAGE}`;

async function* pages(db: Queryable, tenantId: string): AsyncGenerator<string[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<ExportRow>(PAGE_SQL, [tenantId, after]);
    for (const r of rows) {
      yield [
        r.primary_email ?? '',
        r.user_name,
        r.language ?? '',
        r.given ?? '',
        r.family ?? '',
        r.display ?? '',
        r.title ?? '',
        r.external_id ?? '',
        r.employee ?? '',
        r.status,
        r.created_at.toISOString(),
      ];
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return;
    after = last.id;
  }
}

/**
 * The tenant's users as CSV, streamed a page at a time. Cells that a spreadsheet would run
 * as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) are written with a leading
 * `'` (OWASP "CSV injection"): the stored text stays as it was imported.
 */
export function exportUsersCSV(db: Queryable, tenantId: string): Readable {
  const out = stringify({ header: true, columns: [...EXPORT_COLUMNS], escape_formulas: true });
  Readable.from(pages(db, tenantId))
    .on('error', (err) => out.destroy(err))
    .pipe(out);
  return out;
}
