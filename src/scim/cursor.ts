import { createHash } from 'node:crypto';
import { UUID } from '../directory/uuid.ts';
import { SCIMError } from './scim-error.ts';
import type { SortSpec } from './sort-sql.ts';
import type { SQLParams } from './sql-params.ts';

/** Where a page ended: the last row's sort value (as exact text) and its id. */
export interface CursorPosition {
  key: string | null;
  id: string;
}

// Room for a long text sort value; a URL much longer than this is refused by proxies anyway.
const MAX_CURSOR_LENGTH = 8192;
const KEY_SHAPE: Partial<Record<SortSpec['valueType'], RegExp>> = {
  timestamptz: /^\d{4,6}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
  numeric: /^-?\d+(\.\d+)?$/,
  boolean: /^(true|false)$/,
  uuid: UUID,
};

/** The error RFC 9865 §3 defines for a cursor the server cannot use. */
export function invalidCursor(detail: string): SCIMError {
  return new SCIMError(400, 'invalidCursor', detail);
}

/**
 * Fingerprint of the query a cursor was issued for: a cursor only makes sense with the same
 * resource type, filter and sort, and a foreign key value could not even be cast.
 */
export function cursorBinding(
  resourceType: string,
  filter: string | undefined,
  sort: SortSpec,
): string {
  const query = JSON.stringify([resourceType, filter?.trim() ?? '', sort.key, sort.descending]);
  return createHash('sha256').update(query).digest('base64url').slice(0, 16);
}

/**
 * Encodes a page's end as an opaque `nextCursor`: base64url of a small JSON document.
 * Not signed: it holds nothing the client has not just been shown, and every field is
 * checked on the way back in.
 * @see RFC 9865 §2
 */
export function encodeCursor(position: CursorPosition, binding: string): string {
  return Buffer.from(
    JSON.stringify({ v: 1, q: binding, k: position.key, i: position.id }),
  ).toString('base64url');
}

/**
 * Decodes a cursor issued by `encodeCursor` for the same query.
 * @throws SCIMError 400 invalidCursor when it is garbled, forged or from another query.
 * @see RFC 9865 §3
 */
export function decodeCursor(cursor: string, binding: string, sort: SortSpec): CursorPosition {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor('the cursor is not one this server issued');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('the cursor is not one this server issued');
  }
  if (!isCursorDoc(doc)) throw invalidCursor('the cursor is not one this server issued');
  if (doc.q !== binding) {
    throw invalidCursor(
      'the cursor belongs to a different query: keep filter, sortBy and sortOrder unchanged',
    );
  }
  const shape = sort.expr ? KEY_SHAPE[sort.valueType] : undefined;
  if (
    (sort.expr === undefined && doc.k !== null) ||
    (doc.k !== null && shape && !shape.test(doc.k))
  ) {
    throw invalidCursor('the cursor is not one this server issued');
  }
  return { key: doc.k, id: doc.i };
}

function isCursorDoc(doc: unknown): doc is { v: 1; q: string; k: string | null; i: string } {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return false;
  const d = doc as Record<string, unknown>;
  return (
    d['v'] === 1 &&
    typeof d['q'] === 'string' &&
    (d['k'] === null || typeof d['k'] === 'string') &&
    typeof d['i'] === 'string' &&
    UUID.test(d['i'])
  );
}

/**
 * The keyset condition "after this position" in the order `sort` defines, NULLs included
 * (last when ascending, first when descending). Keyset rather than OFFSET: rows inserted or
 * deleted before the position cannot shift the rest, so a client walking the whole list
 * misses none of the rows that existed when it started (as long as their sort value does
 * not change meanwhile; `id`, the default, never changes).
 */
export function keysetCondition(
  sort: SortSpec,
  position: CursorPosition,
  params: SQLParams,
): string {
  const after = sort.descending ? '<' : '>';
  const id = `${params.add(position.id)}::uuid`;
  if (!sort.expr) return `(${sort.idColumn} ${after} ${id})`;
  const expr = sort.expr;
  if (position.key === null) {
    const restOfNulls = `(${expr} IS NULL AND ${sort.idColumn} ${after} ${id})`;
    return sort.descending ? `(${restOfNulls} OR ${expr} IS NOT NULL)` : restOfNulls;
  }
  // A row comparison, so an index on (tenant_id, value, id) can answer it.
  const key = `${params.add(position.key)}::${sort.valueType}`;
  const row = `((${expr}, ${sort.idColumn}) ${after} (${key}, ${id}))`;
  return sort.nullable && !sort.descending ? `(${row} OR ${expr} IS NULL)` : row;
}
