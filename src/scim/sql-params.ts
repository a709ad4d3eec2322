/**
 * Collects the values of one SQL statement and hands out their `$n` placeholders
 * (node-postgres numbering), so user input only ever travels as a parameter.
 */
export class SQLParams {
  readonly values: unknown[] = [];

  /** @param offset how many parameters the statement already has before these. */
  constructor(private readonly offset = 0) {}

  /** Adds a value and returns its placeholder, e.g. `$3`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }

  /** The number the next placeholder will get, minus one. */
  get count(): number {
    return this.offset + this.values.length;
  }
}

/** A parameterised piece of SQL: `sql` refers to `params` as `$n`. */
export interface SQLFragment {
  sql: string;
  params: unknown[];
}

/**
 * Quotes a trusted identifier-like string (schema attribute names and URNs, never request
 * input) as an SQL string literal.
 */
export function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const ALIAS = /^[a-z_][a-z0-9_]*$/;

/** Checks a table alias given by a caller; `scim_` is reserved for the aliases we generate. */
export function checkAlias(alias: string): string {
  if (!ALIAS.test(alias) || alias.startsWith('scim_'))
    throw new Error(`invalid table alias ${alias}`);
  return alias;
}
