import type { CareRecord } from '../../care/care-record.ts';
import { ConsoleLayout } from './console-layout.tsx';

export type CareKind = 'staff-members' | 'sites';
const TITLES: Record<CareKind, string> = { 'staff-members': 'Staff members', sites: 'Sites' };

const text = (v: unknown) =>
  Array.isArray(v)
    ? v
        .map((x) => (x && typeof x === 'object' ? ((x as { value?: unknown }).value ?? '') : x))
        .join(', ')
    : v === undefined || v === null || v === ''
      ? '—'
      : String(v);

/** The staff member or site list: a name filter and a pager, as SCIM filter SQL. */
export function CareListPage(props: {
  kind: CareKind;
  q: string;
  page: number;
  total: number;
  records: CareRecord[];
  signedIn: string;
  csrf: string;
}) {
  const title = TITLES[props.kind];
  const pages = Math.max(1, Math.ceil(props.total / 50));
  const href = (page: number) =>
    `/admin/${props.kind}?${new URLSearchParams({ q: props.q, page: String(page) }).toString()}`;
  return (
    <ConsoleLayout title={title} section={props.kind} userName={props.signedIn} csrf={props.csrf}>
      <h1>{title}</h1>
      <form method="get" action={`/admin/${props.kind}`} class="filters">
        <div>
          <label for="q">Name contains</label>
          <input id="q" name="q" type="search" value={props.q} />
        </div>
        <button type="submit">Apply</button>
      </form>
      <div class="table-wrap">
        <table>
          <caption>
            {props.total} {title.toLowerCase()} by name
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {props.kind === 'sites' ? (
                <th scope="col">Code</th>
              ) : (
                <th scope="col">Security role</th>
              )}
              {props.kind === 'sites' ? (
                <th scope="col">Kind</th>
              ) : (
                <th scope="col">Centres of care</th>
              )}
              <th scope="col">Active</th>
            </tr>
          </thead>
          <tbody>
            {props.records.map((r) => (
              <tr>
                <td>
                  <a href={`/admin/${props.kind}/${r.id}`}>{r.displayName}</a>
                </td>
                <td>{text(props.kind === 'sites' ? r.attrs['code'] : r.attrs['securityRole'])}</td>
                <td>{text(props.kind === 'sites' ? r.attrs['kind'] : r.attrs['centresOfCare'])}</td>
                <td>{r.attrs['active'] === false ? 'No' : 'Yes'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {props.page > 1 ? <a href={href(props.page - 1)}>Previous page</a> : null}
        <span>
          Page {props.page} of {pages}
        </span>
        {props.page < pages ? <a href={href(props.page + 1)}>Next page</a> : null}
      </nav>
    </ConsoleLayout>
  );
}

/** One staff member or site: its attributes and the users it concerns. */
export function CarePage(props: {
  kind: CareKind;
  record: CareRecord;
  users: { value: string; display: string }[] | undefined;
  signedIn: string;
  csrf: string;
}) {
  const { record } = props;
  const code = typeof record.attrs['code'] === 'string' ? record.attrs['code'] : '';
  return (
    <ConsoleLayout
      title={record.displayName}
      section={props.kind}
      userName={props.signedIn}
      csrf={props.csrf}
    >
      <p>
        <a href={`/admin/${props.kind}`}>← Back to the {TITLES[props.kind].toLowerCase()}</a>
      </p>
      <h1>{record.displayName}</h1>
      <dl class="details">
        {Object.entries(record.attrs).map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>
              {typeof v === 'object' && v !== null && !Array.isArray(v)
                ? JSON.stringify(v)
                : text(v)}
            </dd>
          </>
        ))}
      </dl>
      {props.kind === 'staff-members' ? (
        <>
          <h2>Users</h2>
          {props.users && props.users.length > 0 ? (
            <ul>
              {props.users.map((u) => (
                <li>
                  <a href={`/admin/users/${u.value}`}>{u.display}</a>
                </li>
              ))}
            </ul>
          ) : (
            <p>No user is linked to this staff member.</p>
          )}
        </>
      ) : (
        <p>
          <a
            href={`/admin/users?${new URLSearchParams({ preset: 'site', value: code, state: 'any' }).toString()}`}
          >
            Users with a care role on {code}
          </a>
        </p>
      )}
    </ConsoleLayout>
  );
}
