import type { Context } from 'hono';
import { invalidSyntax, SCIMError } from './scim-error.ts';

const JSON_TYPES = /^application\/(scim\+)?json\b/i;

/**
 * Reads a SCIM request body: `application/scim+json` or `application/json` (any charset
 * parameter), at most `maxBytes` (413 past it, RFC 7644 §3.7.4 maxPayloadSize), a JSON object.
 */
export async function readJSONBody(c: Context, maxBytes: number): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type');
  if (type && !JSON_TYPES.test(type)) {
    throw new SCIMError(
      415,
      undefined,
      `content type ${type} is not supported: send application/scim+json`,
    );
  }
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const buffer = await c.req.arrayBuffer();
  if (buffer.byteLength > maxBytes) throw tooLarge(maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buffer));
  } catch {
    throw invalidSyntax('the request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax('the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function tooLarge(maxBytes: number): SCIMError {
  return new SCIMError(413, undefined, `the request body is larger than ${maxBytes} bytes`);
}
