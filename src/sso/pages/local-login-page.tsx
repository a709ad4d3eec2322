import { Layout } from './layout.tsx';

/** The password sign-in form of a tenant, for accounts no IdP covers. */
export function LocalLoginPage(p: { tenant: string; returnTo: string }) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      <form id="local-login" method="post" action={`/sso/local/${p.tenant}/login`}>
        <input type="hidden" name="return_to" value={p.returnTo} />
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
        <div>
          <button type="submit">Sign in</button>
        </div>
      </form>
    </Layout>
  );
}

/** "Change your password at next login": the new password, with the tenant's rules. */
export function ChangePasswordPage(p: {
  tenant: string;
  state: string;
  rules: string[];
  error: string | undefined;
}) {
  return (
    <Layout title="Change your password">
      <h1>Change your password</h1>
      <p>Your administrator asks you to choose a new password before you continue.</p>
      {p.error && (
        <p class="note" id="error">
          {p.error}
        </p>
      )}
      <p class="muted">It needs {p.rules.join(', ')}.</p>
      <form id="change-password" method="post" action={`/sso/local/${p.tenant}/password`}>
        <input type="hidden" name="state" value={p.state} />
        <label for="new_password">New password</label>
        <input
          id="new_password"
          name="new_password"
          type="password"
          autocomplete="new-password"
          required
        />
        <div>
          <button type="submit">Change password and continue</button>
        </div>
      </form>
    </Layout>
  );
}
