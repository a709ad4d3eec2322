import { ConsoleLayout } from './console-layout.tsx';

/** Where a sign-in can start: local sign-in and the tenant's SSO connections. */
export interface SignInOption {
  label: string;
  href: string;
}

/** The console's sign-in: ask for the organisation, then offer its ways in. */
export function SignInPage(props: {
  tenant: string;
  options: SignInOption[];
  error?: string | undefined;
}) {
  return (
    <ConsoleLayout title="Sign in">
      <h1>Sign in to the admin console</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="get" action="/admin/sign-in" class="filters">
        <div>
          <label for="tenant">Organisation</label>
          <input id="tenant" name="tenant" value={props.tenant} autocomplete="organization" />
        </div>
        <button type="submit">Continue</button>
      </form>
      {props.tenant && props.options.length === 0 ? (
        <p class="notice">
          {props.tenant} has no sign-in that returns to the console. Add this console's address to
          the allowed return URLs of its local sign-in or an SSO connection.
        </p>
      ) : null}
      {props.options.length > 0 ? (
        <ul>
          {props.options.map((o) => (
            <li>
              <a class="button" href={o.href}>
                {o.label}
              </a>
            </li>
          ))}
        </ul>
      ) : null}
    </ConsoleLayout>
  );
}

/** A refusal or fault, said plainly, with the request id to quote. */
export function ConsoleErrorPage(props: {
  status: number;
  message: string;
  requestId: string;
  csrf?: string | undefined;
}) {
  return (
    <ConsoleLayout title="Not possible" csrf={props.csrf}>
      <h1>
        {props.status === 403 ? 'Not allowed' : props.status === 404 ? 'Not found' : 'Not possible'}
      </h1>
      <p class="error" role="alert">
        {props.message}
      </p>
      <p>
        Request id {props.requestId}. <a href="/admin/users">Back to the users</a>
      </p>
    </ConsoleLayout>
  );
}
