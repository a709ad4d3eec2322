import { type Context, Hono } from 'hono';
import { checkSelfService } from '../care/access-rules.ts';
import { careOf } from '../care/care-extension.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { applyPatch } from './patch/apply-patch.ts';
import { readJSONBody } from './read-body.ts';
import { userToSCIM } from './representation.ts';
import { directoryContext, ifMatchVersion } from './scim-context.ts';
import { SCIMError } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';
import { userInputFromSCIM } from './user-input.ts';
import { userPresenter } from './users-routes.ts';

/** `/Me` (RFC 7644 §3.11): the account of the user a `scim:me` token was issued to. */
export function meRoutes(services: Services) {
  const { directory, registry, config } = services;
  const base = `${config.publicUrl}/scim/v2`;
  const present = userPresenter(services);
  const app = new Hono<AppEnv>();

  const me = (c: Context<AppEnv>): string => {
    const userId = c.get('principal').userId;
    // RFC 7644 §3.11: a token that stands for no user gets 501.
    if (!userId)
      throw new SCIMError(501, undefined, 'this token is not issued to a user, so it has no /Me');
    return userId;
  };

  app.get('/', async (c) => {
    const user = await directory.users.get(c.get('principal').tenantId, me(c));
    return scimJSON(c, await present(c, user));
  });

  app.patch('/', async (c) => {
    const id = me(c);
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const { user } = await directory.users.update(
      directoryContext(c),
      id,
      (current) => {
        const next = userInputFromSCIM(
          applyPatch(registry, 'User', userToSCIM(current, base), body).resource,
          current,
        );
        if (next.status !== current.status) {
          throw new SCIMError(403, undefined, 'an account cannot activate or deactivate itself');
        }
        checkSelfService(careOf(current.attrs), careOf(next.attrs));
        return next;
      },
      { ifMatch: ifMatchVersion(c) },
    );
    return scimJSON(c, await present(c, user));
  });

  return app;
}
