import type { AuditEntry } from '../../audit/audit-history.ts';
import { careOf, flag, linksOf, rolesOf } from '../../care/care-extension.ts';
import type { UserRecord } from '../../directory/user-record.ts';
import { primaryEmail } from '../../directory/user-record.ts';
import type { GroupWithSource } from '../console/console-reads.ts';
import { ConsoleLayout, Csrf } from './console-layout.tsx';
import { displayName, when } from './user-list-page.tsx';

export interface HistoryFilter {
  start: string;
  end: string;
  type: string;
}

/** A button that POSTs one action of the user page. */
function Action(props: { id: string; action: string; label: string; csrf: string; kind?: string }) {
  return (
    <form method="post" action={`/admin/users/${props.id}/${props.action}`}>
      <Csrf token={props.csrf} />
      <button type="submit" class={props.kind} data-action={props.action}>
        {props.label}
      </button>
    </form>
  );
}

/** The user page (seed 000): details, staff members, groups, roles, links, history, actions. */
export function UserPage(props: {
  user: UserRecord;
  groups: GroupWithSource[];
  staff: { id: string; name: string; assigned: boolean }[];
  staffShow: 'all' | 'assigned' | 'unassigned';
  history: { total: number; entries: AuditEntry[] };
  historyFilter: HistoryFilter;
  signedIn: string;
  csrf: string;
  notice?: string | undefined;
}) {
  const { user, csrf } = props;
  const ext = careOf(user.attrs);
  const a = user.attrs;
  const id = user.id;
  return (
    <ConsoleLayout title={user.userName} section="users" userName={props.signedIn} csrf={csrf}>
      <p>
        <a href="/admin/users">← Back to the users</a>
      </p>
      <h1>
        {displayName(user)} <small>({user.userName})</small>
      </h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <h2 class="skip">Actions</h2>
      <div class="actions">
        <a class="button" href={`/admin/users/${id}/edit`}>
          Edit
        </a>
        <a class="button" href={`/admin/users/${id}/clone`}>
          Clone
        </a>
        {user.status === 'active' ? (
          <Action id={id} action="deactivate" label="Deactivate" csrf={csrf} />
        ) : user.status === 'inactive' ? (
          <Action id={id} action="activate" label="Activate" csrf={csrf} />
        ) : null}
        <Action id={id} action="unlock" label="Unlock" csrf={csrf} kind="secondary" />
        <Action
          id={id}
          action="reset-password"
          label="Reset password"
          csrf={csrf}
          kind="secondary"
        />
        <a class="button danger" href={`/admin/users/${id}/erase`}>
          Erase…
        </a>
      </div>

      <h2>Account</h2>
      <dl class="details">
        <dt>Username</dt>
        <dd>{user.userName}</dd>
        <dt>Status</dt>
        <dd id="status">{user.status}</dd>
        <dt>Email</dt>
        <dd>{primaryEmail(a) ?? '—'}</dd>
        <dt>Title</dt>
        <dd>{typeof a['title'] === 'string' ? a['title'] : '—'}</dd>
        <dt>Language</dt>
        <dd>{typeof a['preferredLanguage'] === 'string' ? a['preferredLanguage'] : '—'}</dd>
        <dt>External id</dt>
        <dd>{user.externalId ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{when(user.createdAt.toISOString())}</dd>
        <dt>Password last changed</dt>
        <dd>{when(ext['passwordLastChanged'])}</dd>
        <dt>Last authenticated</dt>
        <dd>{when(ext['lastAuthenticated'])}</dd>
        <dt>Elevated access</dt>
        <dd>{flag(ext, 'elevatedAccess') ? 'Yes' : 'No'}</dd>
        <dt>Admin access</dt>
        <dd>{flag(ext, 'adminAccess') ? 'Yes' : 'No'}</dd>
      </dl>

      <h2>Groups</h2>
      {props.groups.length === 0 ? (
        <p id="no-groups">Member of no group.</p>
      ) : (
        <ul id="groups">
          {props.groups.map((g) => (
            <li>
              <a href={`/admin/groups/${g.id}`}>{g.name}</a> ({g.sources.join(', ')})
            </li>
          ))}
        </ul>
      )}

      <h2>Sites and care roles</h2>
      {rolesOf(ext).length === 0 ? (
        <p>No care role.</p>
      ) : (
        <ul>
          {rolesOf(ext).map((r) => (
            <li>
              {r.site}: {r.role}
              {r.disabled ? ' (disabled on this site)' : ''}
              {r.programs?.length ? ` · programs ${r.programs.join(', ')}` : ''}
            </li>
          ))}
        </ul>
      )}

      <h2>Assistant links</h2>
      {linksOf(ext).length === 0 ? (
        <p>No assistant link.</p>
      ) : (
        <ul>
          {linksOf(ext).map((l) => (
            <li>
              {l.recipient}: {l.status}
            </li>
          ))}
        </ul>
      )}

      <h2 id="staff-heading">Staff members</h2>
      <form
        method="get"
        action={`/admin/users/${id}`}
        class="filters"
        aria-labelledby="staff-heading"
      >
        <div>
          <label for="staff">Show</label>
          <select id="staff" name="staff">
            {(['all', 'assigned', 'unassigned'] as const).map((s) => (
              <option value={s} selected={props.staffShow === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      {props.staff.length === 0 ? (
        <p>No staff member to show.</p>
      ) : (
        <ul>
          {props.staff.map((s) => (
            <li>
              <form method="post" action={`/admin/users/${id}/staff-members`}>
                <Csrf token={csrf} />
                <input type="hidden" name="staffMember" value={s.id} />
                <input type="hidden" name="assign" value={s.assigned ? 'false' : 'true'} />
                {s.name} {s.assigned ? '(assigned) ' : ''}
                <button
                  type="submit"
                  class="secondary"
                  aria-label={`${s.assigned ? 'Unassign' : 'Assign'} ${s.name}`}
                >
                  {s.assigned ? 'Unassign' : 'Assign'}
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}

      <h2 id="history-heading">History</h2>
      <form
        method="get"
        action={`/admin/users/${id}`}
        class="filters"
        aria-labelledby="history-heading"
      >
        <div>
          <label for="start">From</label>
          <input id="start" name="start" type="date" value={props.historyFilter.start} />
        </div>
        <div>
          <label for="end">To</label>
          <input id="end" name="end" type="date" value={props.historyFilter.end} />
        </div>
        <div>
          <label for="type">Audit type</label>
          <input
            id="type"
            name="type"
            value={props.historyFilter.type}
            placeholder="user.updated"
          />
        </div>
        <button type="submit" class="secondary">
          Filter history
        </button>
      </form>
      <div class="table-wrap">
        <table id="history">
          <caption>
            {props.history.total} {props.history.total === 1 ? 'event' : 'events'}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Type</th>
              <th scope="col">By</th>
              <th scope="col">Groups</th>
            </tr>
          </thead>
          <tbody>
            {props.history.entries.map((e) => {
              const after = (e.after ?? {}) as {
                membershipsAdded?: unknown[];
                membershipsRemoved?: unknown[];
              };
              return (
                <tr>
                  <td>{when(e.at)}</td>
                  <td>{e.type}</td>
                  <td>
                    {e.actor.type}
                    {e.actor.id ? ` ${e.actor.id}` : ''}
                  </td>
                  <td>
                    {after.membershipsAdded ? `+${after.membershipsAdded.length} ` : ''}
                    {after.membershipsRemoved ? `−${after.membershipsRemoved.length}` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </ConsoleLayout>
  );
}
