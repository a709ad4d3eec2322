import type { Context } from 'hono';

/** Sends a SCIM JSON body with the media type RFC 7644 §3.1 asks for. */
export function scimJSON(c: Context, body: unknown, status: 200 | 201 = 200): Response {
  return c.body(JSON.stringify(body), status, {
    'Content-Type': 'application/scim+json; charset=utf-8',
  });
}
