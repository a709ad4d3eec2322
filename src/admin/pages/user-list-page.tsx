import { careOf, flag } from '../../care/care-extension.ts';
import { CARE_ROLES } from '../../care/care-roles.ts';
import type { UserRecord } from '../../directory/user-record.ts';
import {
  COLUMNS,
  type FilterColumn,
  PAGE_SIZES,
  type Preset,
  type SortColumn,
  type UserListParams,
} from '../console/user-list-query.ts';
import { ConsoleLayout } from './console-layout.tsx';

const PRESET_LABELS: Record<Preset, string> = {
  all: 'All',
  new: 'New in the last 7 days',
  locked: 'Locked',
  deactivated: 'Deactivated',
  role: 'By role',
  group: 'By group',
  site: 'By site',
};
const COLUMN_LABELS: Record<FilterColumn, string> = {
  userName: 'Username',
  name: 'Name',
  email: 'Email',
  title: 'Title',
  status: 'Status',
  employeeNumber: 'Employee number',
  externalId: 'External id',
};

/** The query string of the list with some choices changed. */
export function listHref(p: UserListParams, change: Partial<UserListParams>): string {
  const next = { ...p, ...change };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(next)) if (v !== '' && v !== undefined) q.set(k, String(v));
  return `/admin/users?${q.toString()}`;
}

export function displayName(user: UserRecord): string {
  const name = user.attrs['name'] as { givenName?: string; familyName?: string } | undefined;
  const parts = [name?.familyName, name?.givenName].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : user.userName;
}

export const when = (v: unknown) =>
  typeof v === 'string' && v !== ''
    ? new Date(v).toISOString().slice(0, 16).replace('T', ' ')
    : '—';

function SortHeader(props: { p: UserListParams; sort: SortColumn; label: string }) {
  const { p, sort } = props;
  const active = p.sort === sort;
  const order = active && p.order === 'asc' ? 'desc' : 'asc';
  return (
    <th
      scope="col"
      aria-sort={active ? (p.order === 'asc' ? 'ascending' : 'descending') : undefined}
    >
      <a href={listHref(p, { sort, order, page: 1 })} data-sort={sort}>
        {props.label}
        {active ? (p.order === 'asc' ? ' ▲' : ' ▼') : ''}
        <span class="skip">{active ? '' : ', sortable'}</span>
      </a>
    </th>
  );
}

/** The user list (seeds 000 and 002): toggle, pre-defined filters, column filter, sort, pager. */
export function UserListPage(props: {
  p: UserListParams;
  total: number;
  users: UserRecord[];
  groups: { id: string; name: string }[];
  sites: string[];
  userName: string;
  csrf: string;
  notice?: string | undefined;
}) {
  const { p, total, users } = props;
  const pages = Math.max(1, Math.ceil(total / p.count));
  const first = total === 0 ? 0 : (p.page - 1) * p.count + 1;
  const last = Math.min(total, p.page * p.count);
  const valueOptions =
    p.preset === 'role'
      ? CARE_ROLES.map((r) => ({ value: r, label: r }))
      : p.preset === 'group'
        ? props.groups.map((g) => ({ value: g.id, label: g.name }))
        : p.preset === 'site'
          ? props.sites.map((s) => ({ value: s, label: s }))
          : [];
  return (
    <ConsoleLayout title="Users" section="users" userName={props.userName} csrf={props.csrf}>
      <h1>Users</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <form method="get" action="/admin/users" class="filters" aria-label="Filter the users">
        <fieldset>
          <legend>Show</legend>
          {(['active', 'inactive', 'any'] as const).map((s) => (
            <label>
              <input type="radio" name="state" value={s} checked={p.state === s} />{' '}
              {s === 'any' ? 'Both' : s === 'active' ? 'Active' : 'Inactive'}
            </label>
          ))}
        </fieldset>
        <div>
          <label for="preset">Pre-defined filter</label>
          <select id="preset" name="preset">
            {Object.entries(PRESET_LABELS).map(([value, label]) => (
              <option value={value} selected={p.preset === value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        {valueOptions.length > 0 ? (
          <div>
            <label for="value">{PRESET_LABELS[p.preset]}</label>
            <select id="value" name="value">
              <option value="">Choose…</option>
              {valueOptions.map((o) => (
                <option value={o.value} selected={p.value === o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div>
          <label for="column">Filter column</label>
          <select id="column" name="column">
            {Object.keys(COLUMNS).map((c) => (
              <option value={c} selected={p.column === c}>
                {COLUMN_LABELS[c as FilterColumn]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="q">Contains</label>
          <input id="q" name="q" type="search" value={p.q} />
        </div>
        <div>
          <label for="count">Per page</label>
          <select id="count" name="count">
            {PAGE_SIZES.map((n) => (
              <option value={String(n)} selected={p.count === n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <input type="hidden" name="sort" value={p.sort} />
        <input type="hidden" name="order" value={p.order} />
        <button type="submit">Apply</button>
      </form>
      <p role="status" id="list-summary">
        {total === 0 ? 'No users match.' : `Users ${first}–${last} of ${total}`}
        {p.preset === 'locked' || p.preset === 'deactivated'
          ? ' (the Show toggle does not apply to this filter)'
          : ''}
      </p>
      <div class="table-wrap">
        <table id="users">
          <caption>
            Users, sorted by {p.sort} {p.order === 'asc' ? 'ascending' : 'descending'}
          </caption>
          <thead>
            <tr>
              <SortHeader p={p} sort="userName" label="Username" />
              <SortHeader p={p} sort="name" label="Name" />
              <th scope="col">Status</th>
              <SortHeader p={p} sort="passwordLastChanged" label="Password last changed" />
              <SortHeader p={p} sort="lastAuthenticated" label="Last authenticated" />
              <SortHeader p={p} sort="elevated" label="Elevated" />
              <SortHeader p={p} sort="admin" label="Admin" />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const ext = careOf(u.attrs);
              return (
                <tr>
                  <td>
                    <a href={`/admin/users/${u.id}`}>{u.userName}</a>
                  </td>
                  <td>{displayName(u)}</td>
                  <td>{u.status}</td>
                  <td>{when(ext['passwordLastChanged'])}</td>
                  <td>{when(ext['lastAuthenticated'])}</td>
                  <td>{flag(ext, 'elevatedAccess') ? 'Yes' : 'No'}</td>
                  <td>{flag(ext, 'adminAccess') ? 'Yes' : 'No'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {p.page > 1 ? <a href={listHref(p, { page: p.page - 1 })}>Previous page</a> : null}
        <span>
          Page {p.page} of {pages}
        </span>
        {p.page < pages ? <a href={listHref(p, { page: p.page + 1 })}>Next page</a> : null}
      </nav>
    </ConsoleLayout>
  );
}
