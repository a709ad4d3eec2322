import type { Context } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Services } from '../services.ts';
import { readJSONBody } from './read-body.ts';
import { invalidSyntax, invalidValue, SCIMError, scimErrorBody } from './scim-error.ts';
import { scimJSON } from './scim-json.ts';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const PATH = /^\/(Users|Groups|StaffMembers|Sites)(\/[^/?#]+)?$/;
const BULK_REF = /bulkId:([\w.~-]+)/g;

interface BulkOperation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

interface BulkResult {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: unknown;
}

function parseOperations(body: Record<string, unknown>): BulkOperation[] {
  const schemas = body['schemas'];
  if (!Array.isArray(schemas) || !schemas.includes(BULK_REQUEST)) {
    throw invalidSyntax(`a bulk request must carry the schema ${BULK_REQUEST}`);
  }
  const ops = body['Operations'] ?? body['operations'];
  if (!Array.isArray(ops) || ops.length === 0)
    throw invalidSyntax('Operations must be a non-empty array');
  const seen = new Set<string>();
  return ops.map((raw, i): BulkOperation => {
    if (!raw || typeof raw !== 'object') throw invalidSyntax(`operation ${i} is not an object`);
    const op = raw as Record<string, unknown>;
    const method = String(op['method'] ?? '').toUpperCase();
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
      throw invalidSyntax(`operation ${i}: method must be POST, PUT, PATCH or DELETE`);
    }
    const path = op['path'];
    if (typeof path !== 'string' || !PATH.test(path)) {
      throw invalidSyntax(
        `operation ${i}: path must be /Users, /Groups, /StaffMembers, /Sites or one of their resources`,
      );
    }
    const bulkId = op['bulkId'];
    if (method === 'POST') {
      if (typeof bulkId !== 'string' || bulkId === '')
        throw invalidSyntax(`operation ${i}: a POST needs a bulkId`);
      if (seen.has(bulkId)) throw invalidSyntax(`operation ${i}: bulkId ${bulkId} is used twice`);
      seen.add(bulkId);
    }
    return {
      method: method as BulkOperation['method'],
      path,
      ...(typeof bulkId === 'string' ? { bulkId } : {}),
      ...(typeof op['version'] === 'string' ? { version: op['version'] } : {}),
      ...(op['data'] !== undefined ? { data: op['data'] } : {}),
    };
  });
}

/** The bulkIds an operation refers to, in its path or anywhere in its data. */
function references(op: BulkOperation): string[] {
  const text = op.path + (op.data === undefined ? '' : JSON.stringify(op.data));
  return [...text.matchAll(BULK_REF)].map((m) => m[1] as string);
}

function substitute(op: BulkOperation, ids: Map<string, string>): BulkOperation {
  const swap = (s: string) =>
    s.replace(BULK_REF, (_, ref: string) => ids.get(ref) ?? `bulkId:${ref}`);
  return {
    ...op,
    path: swap(op.path),
    ...(op.data === undefined ? {} : { data: JSON.parse(swap(JSON.stringify(op.data))) }),
  };
}

/**
 * `/Bulk` (RFC 7644 §3.7): each operation runs through the same routes as a single
 * request (so through the one write path), in an order that resolves `bulkId`
 * references; `failOnErrors` stops after that many errors.
 */
export function bulkRoute(services: Services, dispatch: (req: Request) => Promise<Response>) {
  const { config } = services;
  return async (c: Context<AppEnv>) => {
    const body = await readJSONBody(c, config.maxPayloadBytes);
    const operations = parseOperations(body);
    if (operations.length > config.bulkMaxOperations) {
      throw new SCIMError(
        413,
        'tooMany',
        `a bulk request may carry at most ${config.bulkMaxOperations} operations`,
      );
    }
    const failOnErrors = body['failOnErrors'];
    if (
      failOnErrors !== undefined &&
      !(Number.isInteger(failOnErrors) && (failOnErrors as number) > 0)
    ) {
      throw invalidValue('failOnErrors must be a positive integer');
    }
    const ids = new Map<string, string>();
    const failed = new Set<string>();
    const results: (BulkResult | undefined)[] = operations.map(() => undefined);
    let errors = 0;
    let pending = operations.map((_, i) => i);
    const headers = {
      authorization: c.req.header('authorization') ?? '',
      'content-type': 'application/scim+json',
      'x-request-id': c.get('requestId'),
    };

    const fail = (
      i: number,
      status: number,
      detail: string,
      scimType?: 'invalidValue' | 'invalidSyntax',
    ) => {
      const op = operations[i] as BulkOperation;
      results[i] = {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        status: String(status),
        response: scimErrorBody(status, detail, scimType),
      };
      if (op.bulkId) failed.add(op.bulkId);
      errors++;
    };

    while (pending.length > 0 && !(failOnErrors && errors >= (failOnErrors as number))) {
      const next: number[] = [];
      let progressed = false;
      for (const i of pending) {
        if (failOnErrors && errors >= (failOnErrors as number)) break;
        const op = operations[i] as BulkOperation;
        const refs = references(op);
        const broken = refs.find((r) => failed.has(r) || !operations.some((o) => o.bulkId === r));
        if (broken) {
          fail(
            i,
            409,
            `bulkId ${broken} does not name a resource created in this request`,
            'invalidValue',
          );
          progressed = true;
          continue;
        }
        if (refs.some((r) => !ids.has(r))) {
          next.push(i);
          continue;
        }
        progressed = true;
        const resolved = substitute(op, ids);
        const res = await dispatch(
          new Request(`http://bulk/scim/v2${resolved.path}`, {
            method: resolved.method,
            headers: { ...headers, ...(resolved.version ? { 'if-match': resolved.version } : {}) },
            ...(resolved.data === undefined || resolved.method === 'DELETE'
              ? {}
              : { body: JSON.stringify(resolved.data) }),
          }),
        );
        const text = await res.text();
        const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
        const result: BulkResult = { method: op.method, status: String(res.status) };
        if (op.bulkId) result.bulkId = op.bulkId;
        if (res.ok) {
          const meta = json?.['meta'] as { location?: string; version?: string } | undefined;
          if (meta?.location) result.location = meta.location;
          if (meta?.version) result.version = meta.version;
          if (op.method === 'POST' && op.bulkId && typeof json?.['id'] === 'string')
            ids.set(op.bulkId, json['id']);
        } else {
          result.response = json;
          if (op.bulkId) failed.add(op.bulkId);
          errors++;
        }
        results[i] = result;
      }
      if (!progressed) {
        // What is left refers only to itself in a circle (RFC 7644 §3.7.1).
        for (const i of next) fail(i, 409, 'circular bulkId references', 'invalidValue');
        break;
      }
      pending = next;
    }
    return scimJSON(c, {
      schemas: [BULK_RESPONSE],
      Operations: results.filter((r) => r !== undefined),
    });
  };
}
