/**
 * Why a sign-in was refused. Each code names the rule that refused; the SSO door maps
 * them to an error page in one place (`sso-error-page.tsx`).
 */
export type SsoErrorCode =
  | 'unknown_connection'
  | 'connection_disabled'
  | 'state_mismatch'
  | 'nonce_mismatch'
  | 'code_rejected'
  | 'idp_error'
  | 'id_token_invalid'
  | 'return_url'
  | 'signature'
  | 'assertion_wrapping'
  | 'issuer'
  | 'audience'
  | 'destination'
  | 'recipient'
  | 'in_response_to'
  | 'unsolicited'
  | 'expired'
  | 'replay'
  | 'saml_invalid'
  | 'no_account'
  | 'account_pending'
  | 'account_inactive'
  | 'account_locked'
  | 'account_deleted'
  | 'invalid_choice'
  | 'account_conflict'
  | 'invalid_credentials'
  | 'locked_out'
  | 'password_rules'
  | 'local_disabled';

const STATUS: Record<SsoErrorCode, 400 | 401 | 403 | 404 | 409> = {
  unknown_connection: 404,
  connection_disabled: 403,
  state_mismatch: 400,
  nonce_mismatch: 400,
  code_rejected: 400,
  idp_error: 400,
  id_token_invalid: 400,
  return_url: 400,
  signature: 400,
  assertion_wrapping: 400,
  issuer: 400,
  audience: 400,
  destination: 400,
  recipient: 400,
  in_response_to: 400,
  unsolicited: 400,
  expired: 400,
  replay: 400,
  saml_invalid: 400,
  no_account: 403,
  account_pending: 403,
  account_inactive: 403,
  account_locked: 403,
  account_deleted: 403,
  invalid_choice: 400,
  account_conflict: 409,
  invalid_credentials: 401,
  locked_out: 403,
  password_rules: 400,
  local_disabled: 404,
};

/** What the person signing in reads: never a detail an attacker could use. */
const MESSAGE: Record<SsoErrorCode, string> = {
  unknown_connection: 'There is no such sign-in connection.',
  connection_disabled: 'This sign-in connection is switched off.',
  state_mismatch: 'This sign-in was not started here, or it has expired. Please start again.',
  nonce_mismatch: 'The identity provider answered for another sign-in. Please start again.',
  code_rejected: 'The identity provider did not accept this sign-in. Please start again.',
  idp_error: 'The identity provider refused the sign-in.',
  id_token_invalid: "The identity provider's answer could not be verified.",
  return_url: 'The application asked to return to an address that is not allowed.',
  signature: "The identity provider's answer is not signed with its key.",
  assertion_wrapping: "The identity provider's answer is malformed.",
  issuer: "The identity provider's answer comes from another issuer.",
  audience: "The identity provider's answer is meant for another service.",
  destination: "The identity provider's answer was sent to another address.",
  recipient: "The identity provider's answer is meant for another recipient.",
  in_response_to: "The identity provider's answer does not belong to a sign-in started here.",
  unsolicited: 'Sign-in started at the identity provider is not allowed for this connection.',
  expired: "The identity provider's answer has expired. Please start again.",
  replay: "The identity provider's answer has already been used.",
  saml_invalid: "The identity provider's answer could not be read.",
  no_account: 'There is no account for you here, and accounts are not created on sign-in.',
  account_pending: 'Your account is not active yet. Ask your administrator to activate it.',
  account_inactive: 'Your account has been deactivated. Ask your administrator.',
  account_locked: 'Your account is locked. Ask your administrator to unlock it.',
  account_deleted: 'Your account has been removed.',
  invalid_choice: 'Please choose a language and a time zone from the lists.',
  account_conflict: 'An account with your user name or email exists and cannot be linked.',
  invalid_credentials: 'The user name or password is wrong.',
  locked_out:
    'Too many failed sign-ins: the account is locked for a while. Try again later or ask your administrator to unlock it.',
  password_rules: 'The new password does not follow the password rules.',
  local_disabled: 'Sign-in with a password is not available here.',
};

/** A refused sign-in; `detail` goes to the audit trail and the log, never to the page. */
export class SsoError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409;
  /** Filled in by the flow that refused, so the refusal is audited against them. */
  tenantId: string | undefined;
  connectionId: string | undefined;
  userId: string | undefined;

  constructor(
    readonly code: SsoErrorCode,
    readonly detail?: string,
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`);
    this.name = 'SsoError';
    this.status = STATUS[code];
  }

  /** The sentence shown to the person signing in. */
  get userMessage(): string {
    return MESSAGE[this.code];
  }
}
