import type { UserRecord } from '../../directory/user-record.ts';
import { primaryEmail } from '../../directory/user-record.ts';
import { ConsoleLayout, Csrf } from './console-layout.tsx';

/** The fields the edit form sets, as CSV update columns (src/admin/csv/csv-columns.ts). */
export const EDIT_FIELDS = [
  { name: 'displayName', label: 'Display name' },
  { name: 'name.givenName', label: 'Given name' },
  { name: 'name.familyName', label: 'Family name' },
  { name: 'title', label: 'Title' },
  { name: 'email', label: 'Email' },
  { name: 'language', label: 'Language' },
] as const;

function currentValue(user: UserRecord, field: string): string {
  const a = user.attrs;
  const name = (a['name'] ?? {}) as Record<string, unknown>;
  const v =
    field === 'email'
      ? primaryEmail(a)
      : field === 'language'
        ? a['preferredLanguage']
        : field.startsWith('name.')
          ? name[field.slice(5)]
          : a[field];
  return typeof v === 'string' ? v : '';
}

interface FormProps {
  user: UserRecord;
  signedIn: string;
  csrf: string;
  error?: string | undefined;
}

function Frame(props: FormProps & { title: string; children: unknown }) {
  return (
    <ConsoleLayout title={props.title} section="users" userName={props.signedIn} csrf={props.csrf}>
      <p>
        <a href={`/admin/users/${props.user.id}`}>← Back to {props.user.userName}</a>
      </p>
      <h1>{props.title}</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      {props.children as never}
    </ConsoleLayout>
  );
}

/** Edit: an empty field removes the value, as a blank CSV cell does. */
export function EditUserPage(props: FormProps) {
  return (
    <Frame {...props} title={`Edit ${props.user.userName}`}>
      <form method="post" action={`/admin/users/${props.user.id}/edit`}>
        <Csrf token={props.csrf} />
        {EDIT_FIELDS.map((f) => (
          <p>
            <label for={f.name}>{f.label}</label>
            <input id={f.name} name={f.name} value={currentValue(props.user, f.name)} />
          </p>
        ))}
        <button type="submit">Save</button>
      </form>
    </Frame>
  );
}

/** Clone: a new account with the same staff members and care roles (src/care). */
export function CloneUserPage(props: FormProps) {
  return (
    <Frame {...props} title={`Clone ${props.user.userName}`}>
      <p>The new account gets the same staff members and care roles, and no personal details.</p>
      <form method="post" action={`/admin/users/${props.user.id}/clone`}>
        <Csrf token={props.csrf} />
        <p>
          <label for="userName">Username of the new account</label>
          <input id="userName" name="userName" required />
        </p>
        <button type="submit">Clone</button>
      </form>
    </Frame>
  );
}

/** Erase: says what cannot be undone, and asks for the username to be typed. */
export function EraseUserPage(props: FormProps) {
  return (
    <Frame {...props} title={`Erase ${props.user.userName}`}>
      <p class="error" id="consequence">
        Erasing is permanent and cannot be undone: every personal field of {props.user.userName}{' '}
        becomes ***** (GDPR right to be forgotten), also in the audit trail, and the account can
        never sign in or be restored. Only a main administrator may erase.
      </p>
      <form method="post" action={`/admin/users/${props.user.id}/erase`}>
        <Csrf token={props.csrf} />
        <p>
          <label for="confirm">Type the username {props.user.userName} to confirm</label>
          <input id="confirm" name="confirm" autocomplete="off" required />
        </p>
        <button type="submit" class="danger">
          Erase {props.user.userName} permanently
        </button>
      </form>
    </Frame>
  );
}
