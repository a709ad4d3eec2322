import type { AttributeMapping } from './connection-settings.ts';

/** What an IdP says about the person, whatever the protocol. */
export interface IdpIdentity {
  /** The OIDC issuer or the SAML IdP entity id. */
  issuer: string;
  /** The OIDC `sub` or the SAML NameID. */
  subject: string;
  /** Claims (OIDC ID token + userinfo) or SAML attributes (single values unwrapped). */
  claims: Record<string, unknown>;
  email: string | undefined;
  /** Whether the IdP asserts the email was verified (OIDC `email_verified`). */
  emailVerified: boolean;
  locale: string | undefined;
  zoneinfo: string | undefined;
}

const DEFAULT_OIDC_MAPPING: AttributeMapping = {
  userName: 'preferred_username',
  emails: 'email',
  displayName: 'name',
  'name.givenName': 'given_name',
  'name.familyName': 'family_name',
};

const DEFAULT_SAML_MAPPING: AttributeMapping = {
  userName: 'userName',
  emails: 'email',
  displayName: 'displayName',
  'name.givenName': 'givenName',
  'name.familyName': 'surname',
};

const URN = /^(urn:[^ ]+):([A-Za-z][\w.]*)$/;

/** The mapping in force: the connection's own entries over the protocol's defaults. */
export function effectiveMapping(
  protocol: 'oidc' | 'saml',
  mapping: AttributeMapping,
): AttributeMapping {
  return { ...(protocol === 'oidc' ? DEFAULT_OIDC_MAPPING : DEFAULT_SAML_MAPPING), ...mapping };
}

/**
 * The user attributes the claims fill, nested as the directory stores them: `emails` as a
 * primary work email, dotted paths as sub-attributes, extension attributes under their
 * schema URN. `userName` is returned apart (it is a column, not an attribute).
 */
export function mapClaims(
  mapping: AttributeMapping,
  claims: Record<string, unknown>,
): { userName: string | undefined; attrs: Record<string, unknown> } {
  const attrs: Record<string, unknown> = {};
  let userName: string | undefined;
  for (const [target, claim] of Object.entries(mapping)) {
    const value = claims[claim];
    if (value === undefined || value === null || value === '') continue;
    if (target === 'userName') {
      if (typeof value === 'string') userName = value;
      continue;
    }
    if (target === 'emails') {
      if (typeof value === 'string') attrs['emails'] = [{ value, type: 'work', primary: true }];
      continue;
    }
    const urn = URN.exec(target);
    const [container, path] = urn
      ? [nested(attrs, urn[1] as string), urn[2] as string]
      : [attrs, target];
    setPath(container, path.split('.'), value);
  }
  return { userName, attrs };
}

function nested(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = obj[key];
  if (existing && typeof existing === 'object' && !Array.isArray(existing)) {
    return existing as Record<string, unknown>;
  }
  const created: Record<string, unknown> = {};
  obj[key] = created;
  return created;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  const [head, ...rest] = path;
  if (!head) return;
  if (rest.length === 0) {
    obj[head] = value;
    return;
  }
  setPath(nested(obj, head), rest, value);
}

/** `base` with every attribute of `mapped` laid over it, nested objects merged. */
export function mergeAttrs(
  base: Record<string, unknown>,
  mapped: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(mapped)) {
    const current = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && current && typeof current === 'object'
        ? mergeAttrs(current as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
