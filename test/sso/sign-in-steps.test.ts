import { describe, expect, it } from 'vitest';
import { mapClaims, mergeAttrs } from '../../src/sso/attribute-mapping.ts';
import { checkReturnUrl } from '../../src/sso/return-url.ts';
import {
  type AssertionFacts,
  checkAudience,
  checkConfirmationTime,
  checkDestination,
  checkInResponseToAgrees,
  checkRecipient,
  checkSingleAssertion,
  parseBinding,
  samlifyError,
} from '../../src/sso/saml/saml-checks.ts';
import { CAREBRIDGE_USER_URN, careClaims } from '../../src/sso/session-token.ts';
import { SsoError } from '../../src/sso/sso-error.ts';
import {
  localeFromAcceptLanguage,
  matchLocale,
  matchTimeZone,
  supportedLists,
} from '../../src/sso/tenant-locales.ts';

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof SsoError) return err.code;
    throw err;
  }
  return undefined;
}

describe('checkReturnUrl', () => {
  const allowed = ['https://care.example/after-sign-in'];
  it('Should pass an allowed URL, keeping its query', () => {
    expect(checkReturnUrl('https://care.example/after-sign-in?ward=3', allowed)).toBe(
      'https://care.example/after-sign-in?ward=3',
    );
  });
  it('Should default to the first allowed URL', () => {
    expect(checkReturnUrl(undefined, allowed)).toBe(allowed[0]);
  });
  it.each([
    'https://evil.example/after-sign-in',
    'https://care.example.evil.example/after-sign-in',
    'http://care.example/after-sign-in',
    'https://care.example:8443/after-sign-in',
    'https://care.example/after-sign-in/../admin',
    'https://care.example/after-sign-in-x',
    'https://user:pw@care.example/after-sign-in',
    '//evil.example/after-sign-in',
    'javascript:alert(1)',
  ])('Should refuse %s', (url) => {
    expect(refusal(() => checkReturnUrl(url, allowed))).toBe('return_url');
  });
});

describe('locale and time zone matching', () => {
  const locales = ['en-GB', 'sv-SE', 'nb-NO'];
  it('Should match a tag in any case or with an underscore, else the same language', () => {
    expect(matchLocale('SV_se', locales)).toBe('sv-SE');
    expect(matchLocale('sv', locales)).toBe('sv-SE');
    expect(matchLocale('en-US', locales)).toBe('en-GB');
    expect(matchLocale('fi-FI', locales)).toBeUndefined();
  });
  it('Should pick the best supported language of Accept-Language by weight', () => {
    expect(localeFromAcceptLanguage('fi-FI, nb;q=0.8, sv;q=0.9', locales)).toBe('sv-SE');
    expect(localeFromAcceptLanguage('fi-FI, *;q=0.5', locales)).toBeUndefined();
    expect(localeFromAcceptLanguage(undefined, locales)).toBeUndefined();
  });
  it('Should default to every IANA zone and a list of locales', () => {
    const lists = supportedLists({});
    expect(lists.timeZones).toContain('Europe/Stockholm');
    expect(lists.locales).toContain('sv-SE');
    expect(matchTimeZone('Europe/Stockholm', lists.timeZones)).toBe('Europe/Stockholm');
    expect(matchTimeZone('Mars/Olympus', lists.timeZones)).toBeUndefined();
    expect(supportedLists({ supportedTimeZones: ['Europe/Oslo'] }).timeZones).toEqual([
      'Europe/Oslo',
    ]);
  });
});

describe('attribute mapping', () => {
  it('Should map claims to core, sub-attributes and extension attributes by URN', () => {
    const mapped = mapClaims(
      {
        userName: 'upn',
        emails: 'mail',
        'name.givenName': 'given',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'emp',
      },
      { upn: 'anna@north.example', mail: 'anna@north.example', given: 'Anna', emp: '0042' },
    );
    expect(mapped.userName).toBe('anna@north.example');
    expect(mapped.attrs).toEqual({
      emails: [{ value: 'anna@north.example', type: 'work', primary: true }],
      name: { givenName: 'Anna' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '0042' },
    });
  });
  it('Should lay mapped attributes over the stored ones, merging nested objects', () => {
    expect(
      mergeAttrs(
        { name: { givenName: 'A', familyName: 'B' }, title: 'RN' },
        { name: { givenName: 'C' } },
      ),
    ).toEqual({
      name: { givenName: 'C', familyName: 'B' },
      title: 'RN',
    });
  });
  it('Should read care roles and staff member ids from the carebridge extension, else empty', () => {
    expect(careClaims({})).toEqual({ care_roles: [], staff_member_ids: [] });
    expect(
      careClaims({
        [CAREBRIDGE_USER_URN]: {
          roles: [
            { site: 's1', role: 'staff' },
            { site: 's2', role: 'siteManager', disabled: true },
          ],
          staffMembers: [{ value: 'sm-1', display: 'Anna B' }],
        },
      }),
    ).toEqual({ care_roles: [{ site: 's1', role: 'staff' }], staff_member_ids: ['sm-1'] });
  });
});

describe('SAML checks', () => {
  const facts: AssertionFacts = {
    assertionId: '_a',
    destination: 'https://cb.example/sso/x/acs',
    inResponseTo: '_r',
    responseInResponseTo: '_r',
    audience: ['https://cb.example/sso/x/metadata'],
    recipient: 'https://cb.example/sso/x/acs',
    confirmationNotOnOrAfter: new Date(Date.now() + 60_000).toISOString(),
    conditionsNotOnOrAfter: undefined,
  };
  it('Should refuse a POST without SAMLResponse', () => {
    expect(refusal(() => parseBinding({}))).toBe('saml_invalid');
  });
  it('Should refuse a document with no or several assertions', () => {
    expect(refusal(() => checkSingleAssertion('<samlp:Response></samlp:Response>'))).toBe(
      'assertion_wrapping',
    );
    expect(
      refusal(() =>
        checkSingleAssertion(
          '<Response><saml:Assertion ID="a"/><Extensions><Assertion ID="b"/></Extensions></Response>',
        ),
      ),
    ).toBe('assertion_wrapping');
    expect(
      checkSingleAssertion(
        '<Response><saml:EncryptedAssertion></saml:EncryptedAssertion></Response>',
      ),
    ).toEqual({ encrypted: true });
  });
  it('Should check audience, destination and recipient against our own URLs', () => {
    expect(
      refusal(() => checkAudience(facts, 'https://cb.example/sso/x/metadata')),
    ).toBeUndefined();
    expect(refusal(() => checkAudience(facts, 'https://cb.example/sso/y/metadata'))).toBe(
      'audience',
    );
    expect(refusal(() => checkDestination(facts, 'https://cb.example/sso/y/acs'))).toBe(
      'destination',
    );
    expect(
      refusal(() =>
        checkDestination({ ...facts, destination: undefined }, 'https://cb.example/sso/y/acs'),
      ),
    ).toBeUndefined();
    expect(refusal(() => checkRecipient(facts, 'https://cb.example/sso/y/acs'))).toBe('recipient');
    expect(
      refusal(() =>
        checkRecipient({ ...facts, recipient: undefined }, 'https://cb.example/sso/x/acs'),
      ),
    ).toBe('recipient');
  });
  it("Should refuse a Response whose InResponseTo is not its signed assertion's", () => {
    expect(refusal(() => checkInResponseToAgrees(facts))).toBeUndefined();
    expect(
      refusal(() => checkInResponseToAgrees({ ...facts, responseInResponseTo: '_other' })),
    ).toBe('in_response_to');
  });

  it('Should allow the bounded skew on the subject confirmation, and no more', () => {
    const ended = {
      ...facts,
      confirmationNotOnOrAfter: new Date(Date.now() - 30_000).toISOString(),
    };
    expect(refusal(() => checkConfirmationTime(ended, 60))).toBeUndefined();
    expect(refusal(() => checkConfirmationTime(ended, 10))).toBe('expired');
    expect(
      refusal(() => checkConfirmationTime({ ...facts, confirmationNotOnOrAfter: undefined }, 60)),
    ).toBe('expired');
  });
  it("Should map samlify's refusals to our codes", () => {
    expect(samlifyError(new Error('FAILED_TO_VERIFY_SIGNATURE')).code).toBe('signature');
    expect(samlifyError(new Error('ERR_UNMATCH_ISSUER')).code).toBe('issuer');
    expect(samlifyError(new Error('ERR_SUBJECT_UNCONFIRMED')).code).toBe('expired');
    expect(samlifyError(new Error('something else')).code).toBe('saml_invalid');
  });
});
