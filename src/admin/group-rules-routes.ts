import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { DirectoryError } from '../directory/directory-error.ts';
import type { GroupRecord } from '../directory/group-record.ts';
import type { AppEnv } from '../http/app-env.ts';
import { bearerAuth } from '../http/bearer-auth.ts';
import type { Services } from '../services.ts';
import { adminContext, adminErrorResponse, idParam } from './admin-context.ts';

const ruleBody = z.object({ rule: z.string() }).strict();
const previewBody = z
  .object({
    rule: z.string().optional(),
    startIndex: z.number().int().min(1).optional(),
    count: z.number().int().min(0).optional(),
  })
  .strict();

async function body<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new DirectoryError('invalidValue', 'the body must be JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    throw new DirectoryError('invalidValue', issues.join('; '));
  }
  return parsed.data;
}

function ruleView(group: GroupRecord) {
  return {
    id: group.id,
    displayName: group.displayName,
    rule: group.rule,
    version: group.version,
    lastModified: group.updatedAt.toISOString(),
  };
}

/**
 * The group-rule admin API, mounted at `/admin/v1` (bearer token with scope `admin`):
 * - `GET /groups/:id/rule`: the group's rule (null when it has none);
 * - `PUT /groups/:id/rule` `{"rule": "<SCIM filter>"}`: sets it and applies it to the whole
 *   tenant at once (400 invalidFilter for a bad rule, nothing changed);
 * - `DELETE /groups/:id/rule`: removes it and the rule memberships (manual ones stay);
 * - `POST /groups/:id/rule/preview` `{"rule"?, "startIndex"?, "count"?}`: who the rule
 *   (default: the group's own) would match, paged in id order, without saving anything.
 * Every write goes through the directory, as every other door's does.
 */
export function groupRulesAdminApp(services: Services) {
  const { directory, config } = services;
  const app = new Hono<AppEnv>();
  app.onError(adminErrorResponse);
  app.use(
    '/groups/*',
    bearerAuth(services.tokens, () => ['admin']),
  );

  app.get('/groups/:id/rule', async (c) => {
    const group = await directory.groups.get(c.get('principal').tenantId, idParam(c, 'id'));
    return c.json(ruleView(group));
  });

  app.put('/groups/:id/rule', async (c) => {
    const { rule } = await body(c, ruleBody);
    const { group } = await directory.groups.setRule(adminContext(c), idParam(c, 'id'), rule);
    return c.json(ruleView(group));
  });

  app.delete('/groups/:id/rule', async (c) => {
    await directory.groups.setRule(adminContext(c), idParam(c, 'id'), null);
    return c.body(null, 204);
  });

  app.post('/groups/:id/rule/preview', async (c) => {
    const tenantId = c.get('principal').tenantId;
    const group = await directory.groups.get(tenantId, idParam(c, 'id'));
    const input = await body(c, previewBody);
    const rule = input.rule ?? group.rule;
    if (rule === null) {
      throw new DirectoryError('invalidValue', `group ${group.displayName} has no rule to preview`);
    }
    const startIndex = input.startIndex ?? 1;
    const count = Math.min(input.count ?? 100, config.maxPageSize);
    const { total, users } = await directory.groups.rules.preview(tenantId, rule, {
      offset: startIndex - 1,
      limit: count,
    });
    return c.json({
      rule,
      totalResults: total,
      startIndex,
      itemsPerPage: users.length,
      users,
    });
  });

  return app;
}
