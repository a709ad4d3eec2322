import type { TestApp } from '../../helpers/test-app.ts';

/** One hop a user agent made. */
export interface Hop {
  method: string;
  url: string;
  status: number;
  location: string | null;
}

/**
 * A small browser without a screen: keeps cookies per host, follows redirects by hand,
 * sends requests for carebridge.test to the app in process and everything else (the IdPs
 * on 127.0.0.1) over the network. It stops at hosts it is told not to enter (the care
 * application) and reports where it was sent.
 */
export class UserAgent {
  private readonly jar = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];

  constructor(
    private readonly t: TestApp,
    private readonly opts: { acceptLanguage?: string; stopAt?: string[] } = {},
  ) {}

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  setCookie(host: string, name: string, value: string): void {
    const jar = this.jar.get(host) ?? new Map<string, string>();
    jar.set(name, value);
    this.jar.set(host, jar);
  }

  clearCookies(host: string): void {
    this.jar.delete(host);
  }

  /** Sends one request (no redirect followed). */
  async send(
    method: string,
    url: string,
    form?: Record<string, string> | FormData,
  ): Promise<Response> {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    const jar = this.jar.get(u.host);
    if (jar && jar.size > 0) {
      headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    if (this.opts.acceptLanguage) headers['accept-language'] = this.opts.acceptLanguage;
    let body: string | FormData | undefined;
    if (form instanceof FormData)
      body = form; // multipart, with its boundary
    else if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const init: RequestInit = { method, headers, redirect: 'manual', ...(body ? { body } : {}) };
    const res =
      u.hostname === 'carebridge.test'
        ? await this.t.app.request(url, init)
        : await fetch(url, init);
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /max-age=0|expires=thu, 01 jan 1970/i.test(line);
      const store = this.jar.get(u.host) ?? new Map<string, string>();
      if (expired || value === '') store.delete(name);
      else store.set(name, value);
      this.jar.set(u.host, store);
    }
    this.hops.push({ method, url, status: res.status, location: res.headers.get('location') });
    return res;
  }

  /**
   * Sends a request and follows redirects until a page answers, or until the next hop
   * would enter a host of `stopAt`; returns the last response and the URL it stopped at.
   */
  async go(
    method: string,
    url: string,
    form?: Record<string, string>,
  ): Promise<{ res: Response; url: string; stoppedAt: string | undefined }> {
    let res = await this.send(method, url, form);
    let current = url;
    for (let i = 0; i < 20; i++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location)
        return { res, url: current, stoppedAt: undefined };
      const next = new URL(location, current).toString();
      if (this.opts.stopAt?.includes(new URL(next).host))
        return { res, url: current, stoppedAt: next };
      current = next;
      res = await this.send('GET', next);
    }
    throw new Error('too many redirects');
  }
}

/** The hidden `state` of a first-login page. */
export function firstLoginState(html: string): string {
  const m = /name="state" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no first-login state on the page');
  return m[1];
}
