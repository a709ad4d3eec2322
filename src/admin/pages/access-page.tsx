import type { SsoConnection } from '../../sso/connections.ts';
import { ConsoleLayout, Csrf } from './console-layout.tsx';

/** An API token as the console lists it: never the token, only what it is. */
export interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  suspended_at: Date | null;
  user_name: string | null;
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : '—');

/** SSO connections (no secret shown) and API tokens of the tenant, newest first. */
export function AccessPage(props: {
  connections: SsoConnection[];
  tokens: TokenView[];
  admin: boolean;
  signedIn: string;
  csrf: string;
  notice?: string | undefined;
}) {
  return (
    <ConsoleLayout
      title="Sign-in and tokens"
      section="access"
      userName={props.signedIn}
      csrf={props.csrf}
    >
      <h1>Sign-in and tokens</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <h2>SSO connections</h2>
      <div class="table-wrap">
        <table>
          <caption>
            {props.connections.length} connections (configure them with the admin API or the CLI)
          </caption>
          <thead>
            <tr>
              <th scope="col">Slug</th>
              <th scope="col">Protocol</th>
              <th scope="col">Enabled</th>
              <th scope="col">Creates accounts</th>
              <th scope="col">Allowed return URLs</th>
            </tr>
          </thead>
          <tbody>
            {props.connections.map((c) => (
              <tr>
                <td>{c.slug}</td>
                <td>{c.protocol.toUpperCase()}</td>
                <td>{c.enabled ? 'Yes' : 'No'}</td>
                <td>{c.jit ? 'Yes' : 'No'}</td>
                <td>{c.allowedReturnUrls.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>API tokens</h2>
      <div class="table-wrap">
        <table id="tokens">
          <caption>The {props.tokens.length} newest tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Acts as</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="skip">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.tokens.map((t) => {
              const state = t.revoked_at ? 'revoked' : t.suspended_at ? 'suspended' : 'active';
              return (
                <tr>
                  <td>{t.name}</td>
                  <td>{t.scopes.join(' ')}</td>
                  <td>{t.user_name ?? '—'}</td>
                  <td>{day(t.created_at)}</td>
                  <td>{day(t.expires_at)}</td>
                  <td>{state}</td>
                  <td>
                    {props.admin && state !== 'revoked' ? (
                      <form method="post" action={`/admin/access/tokens/${t.id}/revoke`}>
                        <Csrf token={props.csrf} />
                        <button type="submit" class="secondary" aria-label={`Revoke ${t.name}`}>
                          Revoke
                        </button>
                      </form>
                    ) : null}
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
