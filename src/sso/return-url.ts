import { SsoError } from './sso-error.ts';

/**
 * The URL the care application asked to return to, if the connection allows it. Only an
 * exact scheme, host, port and path listed on the connection passes (no prefix or
 * wildcard match, no open redirect); with no request, the first allowed URL.
 */
export function checkReturnUrl(requested: string | undefined, allowed: string[]): string {
  if (requested === undefined || requested === '') {
    const first = allowed[0];
    if (!first) throw new SsoError('return_url', 'the connection allows no return URL');
    return first;
  }
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    throw new SsoError('return_url', 'the return URL is not an absolute URL');
  }
  if (url.username || url.password || url.hash) {
    throw new SsoError('return_url', 'the return URL carries credentials or a fragment');
  }
  const key = `${url.origin}${url.pathname}`;
  const ok = allowed.some((a) => {
    const u = new URL(a);
    return `${u.origin}${u.pathname}` === key;
  });
  if (!ok)
    throw new SsoError('return_url', `return URL ${url.origin}${url.pathname} is not allowed`);
  return url.toString();
}
