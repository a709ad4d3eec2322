import type { GroupRecord } from '../../directory/group-record.ts';
import { ConsoleLayout } from './console-layout.tsx';

interface Frame {
  signedIn: string;
  csrf: string;
}

/** The groups of the tenant, with their rules. */
export function GroupListPage(
  props: Frame & {
    groups: { id: string; name: string; rule: string | null; kind: string; members: number }[];
  },
) {
  return (
    <ConsoleLayout title="Groups" section="groups" userName={props.signedIn} csrf={props.csrf}>
      <h1>Groups</h1>
      <div class="table-wrap">
        <table>
          <caption>{props.groups.length} groups by name</caption>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Members</th>
              <th scope="col">Rule</th>
            </tr>
          </thead>
          <tbody>
            {props.groups.map((g) => (
              <tr>
                <td>
                  <a href={`/admin/groups/${g.id}`}>{g.name}</a>
                  {g.kind === 'system' ? ' (system)' : ''}
                </td>
                <td>{g.members}</td>
                <td>
                  <code>{g.rule ?? '—'}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </ConsoleLayout>
  );
}

/** One group: its rule and a preview of who a rule (its own or one being written) matches. */
export function GroupPage(
  props: Frame & {
    group: GroupRecord;
    rule: string;
    preview:
      | { total: number; users: { id: string; userName: string; displayName: string | null }[] }
      | undefined;
    error?: string | undefined;
  },
) {
  const { group } = props;
  return (
    <ConsoleLayout
      title={group.displayName}
      section="groups"
      userName={props.signedIn}
      csrf={props.csrf}
    >
      <p>
        <a href="/admin/groups">← Back to the groups</a>
      </p>
      <h1>{group.displayName}</h1>
      <dl class="details">
        <dt>Rule</dt>
        <dd>
          <code id="rule">{group.rule ?? 'none (manual members only)'}</code>
        </dd>
      </dl>
      <h2>Rule preview</h2>
      <form method="get" action={`/admin/groups/${group.id}`} class="filters">
        <div style="flex:1 1 24rem">
          <label for="preview-rule">Rule (a SCIM filter)</label>
          <input id="preview-rule" name="rule" value={props.rule} style="width:100%" />
        </div>
        <button type="submit">Preview</button>
      </form>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      {props.preview ? (
        <>
          <p role="status" id="preview-total">
            The rule matches {props.preview.total} active users
            {props.preview.total > props.preview.users.length
              ? `; the first ${props.preview.users.length}:`
              : ':'}
          </p>
          <ul>
            {props.preview.users.map((u) => (
              <li>
                <a href={`/admin/users/${u.id}`}>{u.displayName ?? u.userName}</a>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </ConsoleLayout>
  );
}
