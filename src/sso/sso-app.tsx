import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { type SsoConnection, SsoConnections } from './connections.ts';
import { localRoutes } from './local/local-routes.tsx';
import type { OidcConfigurations } from './oidc/oidc-configuration.ts';
import { redeemCode, startAuthorization, takeState } from './oidc/oidc-steps.ts';
import { FirstLoginPage } from './pages/first-login-page.tsx';
import { checkReturnUrl } from './return-url.ts';
import { SamlIdpMetadata } from './saml/saml-entities.ts';
import { samlRoutes, startSamlLogin } from './saml/saml-routes.ts';
import {
  completeSignIn,
  createAndRedirect,
  type FirstLoginPayload,
  type SignInOutcome,
  type SsoDeps,
  tenantLists,
} from './sign-in.ts';
import { browserMatches, SIGNIN_TTL_SECONDS, SigninStates } from './signin-state.ts';
import { SsoError } from './sso-error.ts';
import { ssoErrorResponse } from './sso-error-page.tsx';

export const BROWSER_COOKIE = 'cb_sso';

/** What the SSO routes share: the directory's deps plus the connection store and IdP caches. */
export interface SsoRuntime extends SsoDeps {
  connections: SsoConnections;
  oidc: OidcConfigurations;
  samlMetadata: SamlIdpMetadata;
  publicUrl: string;
}

export function ssoRuntime(services: Services, oidc: OidcConfigurations): SsoRuntime {
  return {
    pool: services.db.pool,
    directory: services.directory,
    keys: services.keys,
    states: new SigninStates(services.db.pool),
    connections: new SsoConnections(services.db.pool),
    oidc,
    samlMetadata: new SamlIdpMetadata(),
    publicUrl: services.config.publicUrl,
  };
}

/** Sets the cookie that binds a flow in flight to the browser that started it. */
export function bindBrowser(c: Context<AppEnv>, value: string, publicUrl: string): void {
  setCookie(c, BROWSER_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: publicUrl.startsWith('https:'),
    path: '/sso',
    maxAge: SIGNIN_TTL_SECONDS,
  });
}

/** Runs `fn` for a connection; a refusal carries the connection's tenant to be audited there. */
export async function guarded(
  connection: SsoConnection,
  fn: () => Promise<Response>,
): Promise<Response> {
  try {
    if (!connection.enabled) throw new SsoError('connection_disabled', connection.slug);
    return await fn();
  } catch (err) {
    if (err && typeof err === 'object') {
      const e = err as { tenantId?: string; connectionId?: string };
      e.tenantId ??= connection.tenantId;
      e.connectionId ??= connection.id;
    }
    throw err;
  }
}

/** Runs one step sequence for the connection a URL names; unknown ones are refused. */
export async function withConnection(
  rt: SsoRuntime,
  slug: string,
  protocol: 'oidc' | 'saml' | 'any',
  fn: (connection: SsoConnection) => Promise<Response>,
): Promise<Response> {
  const connection = await rt.connections.bySlug(slug);
  if (!connection || (protocol !== 'any' && connection.protocol !== protocol)) {
    throw new SsoError('unknown_connection', `no ${protocol} connection ${slug}`);
  }
  return guarded(connection, () => fn(connection));
}

/** Answers a finished IdP round trip: the redirect to the application, or the first-login page. */
export async function answerOutcome(
  c: Context<AppEnv>,
  rt: SsoRuntime,
  connection: SsoConnection,
  outcome: SignInOutcome,
): Promise<Response> {
  if (outcome.kind === 'redirect') return c.redirect(outcome.location, 303);
  bindBrowser(c, outcome.browser, rt.publicUrl);
  return renderFirstLogin(c, rt, outcome.state, connection.tenantId, outcome.payload, undefined);
}

async function renderFirstLogin(
  c: Context<AppEnv>,
  rt: SsoRuntime,
  state: string,
  tenantId: string,
  p: FirstLoginPayload,
  error: string | undefined,
): Promise<Response> {
  const lists = await tenantLists(rt.pool, tenantId);
  return c.html(
    <FirstLoginPage
      state={state}
      locales={lists.locales}
      timeZones={lists.timeZones}
      locale={p.locale}
      timezone={p.timezone}
      unsupportedLocale={p.unsupportedLocale}
      unsupportedTimezone={p.unsupportedTimezone}
      error={error}
    />,
    error ? 400 : 200,
  );
}

/** The SSO door: `/sso/:connection/login`, the OIDC callback, the SAML ACS and metadata. */
export function ssoApp(rt: SsoRuntime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Sign-in pages carry one-time states: never cached, never framed, never in a Referer.
  app.use(async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
    c.header('Content-Security-Policy', "frame-ancestors 'none'");
    c.header('Referrer-Policy', 'no-referrer');
  });

  app.get('/:connection/login', (c) =>
    withConnection(rt, c.req.param('connection'), 'any', async (connection) => {
      const returnUrl = checkReturnUrl(c.req.query('return_to'), connection.allowedReturnUrls);
      if (connection.protocol === 'saml') {
        return c.redirect(await startSamlLogin(rt, connection, returnUrl), 302);
      }
      const config = await rt.oidc.get(connection);
      const { location, browser } = await startAuthorization(config, rt.states, connection, {
        publicUrl: rt.publicUrl,
        returnUrl,
      });
      bindBrowser(c, browser, rt.publicUrl);
      return c.redirect(location, 302);
    }),
  );

  app.get('/:connection/callback', (c) =>
    withConnection(rt, c.req.param('connection'), 'oidc', async (connection) => {
      const cookie = getCookie(c, BROWSER_COOKIE);
      const state = await takeState(rt.states, connection, c.req.query('state'), cookie);
      const config = await rt.oidc.get(connection);
      // The URL the IdP redirected to, rebuilt on our public base (never from Host).
      const callbackUrl = new URL(`${rt.publicUrl}/sso/${connection.slug}/callback`);
      callbackUrl.search = new URL(c.req.url).search;
      const identity = await redeemCode(config, connection, state, callbackUrl);
      const outcome = await completeSignIn(rt, connection, identity, {
        requestId: c.get('requestId'),
        returnUrl: state.returnUrl,
        acceptLanguage: c.req.header('accept-language'),
      });
      return answerOutcome(c, rt, connection, outcome);
    }),
  );

  // The first-login page posts the browser's zone (or the person's choice) back here.
  app.post('/first-login', async (c) => {
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
    const state = await rt.states.consumeKind(field('state'), 'first_login');
    if (!state) throw new SsoError('state_mismatch', 'unknown, used or expired first-login state');
    const connection = state.connectionId
      ? await rt.connections.byId(state.connectionId)
      : undefined;
    if (!connection) throw new SsoError('unknown_connection', 'the connection was removed');
    return guarded(connection, async () => {
      if (!browserMatches(state.browserHash, getCookie(c, BROWSER_COOKIE))) {
        throw new SsoError('state_mismatch', 'the first-login page was opened by another browser');
      }
      const payload = state.payload as FirstLoginPayload;
      const lists = await tenantLists(rt.pool, connection.tenantId);
      const locale = lists.locales.find((l) => l === field('locale'));
      const timezone = lists.timeZones.find((z) => z === field('timezone'));
      if (!locale || !timezone) {
        const again = await rt.states.save(state);
        return renderFirstLogin(
          c,
          rt,
          again,
          connection.tenantId,
          payload,
          new SsoError('invalid_choice').userMessage,
        );
      }
      const location = await createAndRedirect(
        rt,
        connection,
        payload.identity,
        { locale, timezone },
        {
          requestId: c.get('requestId'),
          returnUrl: state.returnUrl,
        },
      );
      return c.redirect(location, 303);
    });
  });

  app.route('/local', localRoutes(rt));
  app.route('/', samlRoutes(rt));

  app.onError((err, c) => ssoErrorResponse(c, err, rt.pool));
  return app;
}
