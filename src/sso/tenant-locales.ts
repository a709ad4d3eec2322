/** The locales a tenant supports when its settings name none. */
export const DEFAULT_LOCALES = [
  'en-US',
  'en-GB',
  'sv-SE',
  'nb-NO',
  'da-DK',
  'fi-FI',
  'de-DE',
  'fr-FR',
  'nl-NL',
  'es-ES',
];

/** What a tenant supports: `settings.supportedLocales` and `settings.supportedTimeZones`. */
export interface SupportedLists {
  locales: string[];
  timeZones: string[];
}

/** The supported lists from tenant settings; every IANA zone when the tenant names none. */
export function supportedLists(settings: Record<string, unknown>): SupportedLists {
  const strings = (v: unknown) =>
    Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string')
      ? (v as string[])
      : undefined;
  return {
    locales: strings(settings['supportedLocales']) ?? DEFAULT_LOCALES,
    timeZones: strings(settings['supportedTimeZones']) ?? Intl.supportedValuesOf('timeZone'),
  };
}

/**
 * The supported locale for a BCP 47 tag: the same tag (any case, `_` or `-`), else the
 * first supported locale of the same language. Undefined when none fits.
 */
export function matchLocale(tag: string | undefined, supported: string[]): string | undefined {
  if (!tag) return undefined;
  const wanted = tag.trim().replaceAll('_', '-').toLowerCase();
  if (wanted === '') return undefined;
  const exact = supported.find((s) => s.toLowerCase() === wanted);
  if (exact) return exact;
  const language = wanted.split('-')[0];
  return supported.find((s) => s.toLowerCase().split('-')[0] === language);
}

/** The best supported locale of an Accept-Language header (RFC 9110 §12.5.4), by weight. */
export function localeFromAcceptLanguage(
  header: string | undefined,
  supported: string[],
): string | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), i };
    })
    .filter((r) => r.tag !== '' && r.tag !== '*' && r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    const match = matchLocale(r.tag, supported);
    if (match) return match;
  }
  return undefined;
}

/** The zone itself when the tenant supports it (IANA names are case-sensitive). */
export function matchTimeZone(zone: string | undefined, supported: string[]): string | undefined {
  return zone && supported.includes(zone) ? zone : undefined;
}
