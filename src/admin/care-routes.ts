import { type Context, Hono } from 'hono';
import { DirectoryError } from '../directory/directory-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { adminContext, idParam } from './admin-context.ts';

async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  try {
    const body = await c.req.json();
    if (body && typeof body === 'object' && !Array.isArray(body)) return body;
  } catch {
    // fall through
  }
  throw new DirectoryError('invalidValue', 'the body must be a JSON object');
}

function text(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = body[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    throw new DirectoryError('invalidValue', `${name} is required (a non-empty string)`);
  }
  return v;
}

const userView = (u: { id: string; userName: string; status: string }) => ({
  id: u.id,
  userName: u.userName,
  status: u.status,
});

/**
 * The care lifecycle and cloning, for admin consoles: every action goes through the
 * directory with the token's user as actor, so the access rules decide.
 */
export function careAdminRoutes(services: Services) {
  const { care } = services.directory;
  const app = new Hono<AppEnv>();

  const step =
    (status: 'active' | 'inactive' | 'locked' | 'pending') => async (c: Context<AppEnv>) => {
      const user = await care.lifecycle.setStatus(adminContext(c), idParam(c, 'id'), status);
      return c.json(userView(user));
    };
  app.post('/users/:id/deactivate', step('inactive'));
  app.post('/users/:id/reactivate', step('active'));
  app.post('/users/:id/activate', step('active'));
  app.post('/users/:id/lock', step('locked'));
  app.post('/users/:id/unlock', step('active'));
  app.post('/users/:id/restore', async (c) => {
    await care.lifecycle.restore(adminContext(c), idParam(c, 'id'));
    return c.json({ id: c.req.param('id'), status: 'inactive' });
  });
  app.post('/users/:id/erase', async (c) => {
    await care.lifecycle.erase(adminContext(c), idParam(c, 'id'));
    return c.body(null, 204);
  });

  app.post('/users/:id/clone', async (c) => {
    const body = await jsonBody(c);
    const user = await care.cloneUser(adminContext(c), idParam(c, 'id'), {
      userName: text(body, 'userName') as string,
      password: text(body, 'password', false),
    });
    return c.json(userView(user), 201);
  });
  app.post('/staff-members/:id/clone', async (c) => {
    const body = await jsonBody(c);
    const staff = await care.staffMembers.clone(
      adminContext(c),
      idParam(c, 'id'),
      text(body, 'displayName') as string,
    );
    return c.json({ id: staff.id, displayName: staff.displayName, ...staff.attrs }, 201);
  });
  app.post('/sites/:id/clone', async (c) => {
    const body = await jsonBody(c);
    const site = await care.sites.clone(adminContext(c), idParam(c, 'id'), {
      code: text(body, 'code') as string,
      displayName: text(body, 'displayName') as string,
    });
    return c.json({ id: site.id, displayName: site.displayName, ...site.attrs }, 201);
  });
  return app;
}
