import type pg from 'pg';
import * as samlify from 'samlify';
import { SsoError } from '../sso-error.ts';

/**
 * The invariants of a SAML response that samlify does not check itself, each a small
 * function (SAML 2.0 Core §2.5, §3.2.2; Profiles §4.1.4.2–4.1.4.3).
 */

/** Step: decodes the POST binding's SAMLResponse (Bindings §3.5.4). */
export function parseBinding(body: Record<string, unknown>): {
  xml: string;
  samlResponse: string;
  relayState: string | undefined;
} {
  const samlResponse = body['SAMLResponse'];
  if (typeof samlResponse !== 'string' || samlResponse === '') {
    throw new SsoError('saml_invalid', 'no SAMLResponse in the POST');
  }
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  if (!xml.includes('Response'))
    throw new SsoError('saml_invalid', 'SAMLResponse is not a Response');
  const relayState = typeof body['RelayState'] === 'string' ? body['RelayState'] : undefined;
  return { xml, samlResponse, relayState };
}

const ASSERTION = /<(?:[A-Za-z_][\w.-]*:)?(?:Encrypted)?Assertion[\s>/]/g;

/**
 * Step: exactly one assertion in the whole document. Signature wrapping hides a forged
 * assertion beside (or around) the signed one; a document with two is refused outright.
 */
export function checkSingleAssertion(xml: string): { encrypted: boolean } {
  const found = xml.match(ASSERTION) ?? [];
  if (found.length !== 1) {
    throw new SsoError('assertion_wrapping', `the response carries ${found.length} assertions`);
  }
  return { encrypted: /EncryptedAssertion/.test(found[0] ?? '') };
}

/** Maps samlify's refusals (signature, issuer, time window, status) to our codes. */
export function samlifyError(err: unknown): SsoError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/SIGNATURE|ZERO_SIG|SIG_ALG|REFERENCE|DIGEST|CERTIFICATE/i.test(msg))
    return new SsoError('signature', msg);
  if (/UNMATCH_ISSUER/.test(msg)) return new SsoError('issuer', msg);
  if (/SUBJECT_UNCONFIRMED|EXPIRED_SESSION/.test(msg)) return new SsoError('expired', msg);
  if (/FAILED_STATUS|ERR_FAILED/.test(msg)) return new SsoError('idp_error', msg);
  return new SsoError('saml_invalid', msg);
}

/** What the verified assertion says about where and for whom it is meant. */
export interface AssertionFacts {
  assertionId: string | undefined;
  destination: string | undefined;
  inResponseTo: string | undefined;
  responseInResponseTo: string | undefined;
  audience: string[];
  recipient: string | undefined;
  confirmationNotOnOrAfter: string | undefined;
  conditionsNotOnOrAfter: string | undefined;
}

/** Reads the facts from the verified (and decrypted) document samlify hands back. */
export function assertionFacts(
  verifiedXml: string,
  extract: Record<string, unknown>,
): AssertionFacts {
  const more = samlify.Extractor.extract(verifiedXml, [
    { key: 'assertion', localPath: ['Response', 'Assertion'], attributes: ['ID'] },
    {
      key: 'confirmation',
      localPath: [
        'Response',
        'Assertion',
        'Subject',
        'SubjectConfirmation',
        'SubjectConfirmationData',
      ],
      attributes: ['Recipient', 'NotOnOrAfter', 'InResponseTo'],
    },
  ]) as {
    assertion?: string;
    confirmation?: { recipient?: string; notOnOrAfter?: string; inResponseTo?: string };
  };
  const response = (extract['response'] ?? {}) as { destination?: string; inResponseTo?: string };
  const conditions = (extract['conditions'] ?? {}) as { notOnOrAfter?: string };
  const audience = extract['audience'];
  return {
    // With one attribute asked, samlify's extractor returns its value itself.
    assertionId:
      typeof more.assertion === 'string' && more.assertion !== '' ? more.assertion : undefined,
    destination: response.destination || undefined,
    // The confirmation's InResponseTo sits inside the signed assertion; the Response's own
    // attribute is unsigned when only the assertion is, so it may only agree with it.
    inResponseTo: more.confirmation?.inResponseTo || response.inResponseTo || undefined,
    responseInResponseTo: response.inResponseTo || undefined,
    audience: (Array.isArray(audience) ? audience : [audience]).filter(
      (a): a is string => typeof a === 'string' && a !== '',
    ),
    recipient: more.confirmation?.recipient || undefined,
    confirmationNotOnOrAfter: more.confirmation?.notOnOrAfter || undefined,
    conditionsNotOnOrAfter: conditions.notOnOrAfter || undefined,
  };
}

/** Step: the Response and its assertion answer the same AuthnRequest, if any (Profiles §4.1.4.2). */
export function checkInResponseToAgrees(facts: AssertionFacts): void {
  if (
    facts.responseInResponseTo !== undefined &&
    facts.inResponseTo !== undefined &&
    facts.responseInResponseTo !== facts.inResponseTo
  ) {
    throw new SsoError(
      'in_response_to',
      'the Response and its assertion answer different requests',
    );
  }
}

/** Step: the assertion's AudienceRestriction names us (Core §2.5.1.4). */
export function checkAudience(facts: AssertionFacts, entityId: string): void {
  if (!facts.audience.includes(entityId)) {
    throw new SsoError('audience', `audience ${facts.audience.join(', ') || '(none)'}`);
  }
}

/** Step: the response was sent to our ACS (Core §3.2.2 Destination). */
export function checkDestination(facts: AssertionFacts, acsUrl: string): void {
  if (facts.destination !== undefined && facts.destination !== acsUrl) {
    throw new SsoError('destination', `destination ${facts.destination}`);
  }
}

/** Step: the bearer confirmation names our ACS as recipient (Profiles §4.1.4.2). */
export function checkRecipient(facts: AssertionFacts, acsUrl: string): void {
  if (facts.recipient !== acsUrl) {
    throw new SsoError('recipient', `recipient ${facts.recipient ?? '(none)'}`);
  }
}

/** Step: the bearer confirmation has not expired (skew bounded by the connection). */
export function checkConfirmationTime(
  facts: AssertionFacts,
  skewSeconds: number,
  now = Date.now(),
): void {
  const end = facts.confirmationNotOnOrAfter;
  if (!end) throw new SsoError('expired', 'the subject confirmation has no NotOnOrAfter');
  if (!(now < Date.parse(end) + skewSeconds * 1000)) {
    throw new SsoError('expired', `subject confirmation ended at ${end}`);
  }
}

/** How long an assertion id is remembered: until its validity ends, plus the skew. */
function seenUntil(facts: AssertionFacts, skewSeconds: number): Date {
  const ends = [facts.conditionsNotOnOrAfter, facts.confirmationNotOnOrAfter]
    .map((t) => (t ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  const end = ends.length > 0 ? Math.max(...ends) : Date.now() + 3600_000;
  return new Date(end + skewSeconds * 1000);
}

/** Step: an assertion is accepted once (Profiles §4.1.4.5), remembered in the database. */
export async function checkReplay(
  pool: pg.Pool,
  connectionId: string,
  facts: AssertionFacts,
  skewSeconds: number,
): Promise<void> {
  if (!facts.assertionId) throw new SsoError('saml_invalid', 'the assertion has no ID');
  await pool.query(
    'delete from saml_assertions_seen where connection_id = $1 and expires_at < now()',
    [connectionId],
  );
  const { rowCount } = await pool.query(
    `insert into saml_assertions_seen (connection_id, assertion_id, expires_at) values ($1, $2, $3)
     on conflict do nothing`,
    [connectionId, facts.assertionId, seenUntil(facts, skewSeconds)],
  );
  if (rowCount === 0)
    throw new SsoError('replay', `assertion ${facts.assertionId} was already used`);
}
