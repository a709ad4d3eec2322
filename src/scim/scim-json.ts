import type { Context } from 'hono';

/** Sends a SCIM JSON body with the media type RFC 7644 §3.1 asks for. */
export function scimJSON(c: Context, body: unknown, status: 200 | 201 = 200): Response {
  return scimJSONText(c, JSON.stringify(body), status);
}

/** {@link scimJSON} for a body already written as JSON text (whole, or streaming). */
export function scimJSONText(
  c: Context,
  text: string | ReadableStream<Uint8Array>,
  status: 200 | 201 = 200,
): Response {
  return c.body(text, status, { 'Content-Type': 'application/scim+json; charset=utf-8' });
}
