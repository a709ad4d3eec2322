import { invalidFilter } from './scim-error.ts';

/** The comparison operators of RFC 7644 §3.4.2.2, table 3. */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A `compValue`; numbers keep their JSON text so no precision is lost on the way to SQL. */
export type FilterValue = string | boolean | null | { number: string };

/** The parsed filter: the RFC grammar as a tree, with nothing expanded or rewritten. */
export type FilterNode =
  | { op: 'and' | 'or'; terms: FilterNode[] }
  | { op: 'not'; term: FilterNode }
  | { op: 'compare'; path: string; operator: CompareOp; value: FilterValue }
  | { op: 'present'; path: string }
  | { op: 'valuePath'; path: string; filter: FilterNode };

/** Longest filter accepted: a real filter is far shorter, a huge one is an attack. */
export const MAX_FILTER_LENGTH = 4096;
/** Deepest nesting of parentheses, `not` and brackets. */
export const MAX_FILTER_DEPTH = 32;

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { t: '(' | ')' | '[' | ']'; pos: number }
  | { t: 'word'; text: string; pos: number }
  | { t: 'string'; value: string; pos: number }
  | { t: 'number'; text: string; pos: number };

const WORD = /[A-Za-z$][A-Za-z0-9_:.$-]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?=[\s)\]]|$)/y;
// The extent of a string; JSON.parse then applies RFC 8259 §7 (escapes, no raw control
// characters), as the RFC 7644 grammar takes compValue strings from JSON.
const STRING = /"(?:[^"\\]|\\.)*"/y;

function parseJSONString(text: string): string | undefined {
  try {
    return JSON.parse(text) as string;
  } catch {
    return undefined;
  }
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = pos;
    const m = re.exec(input);
    return m ? m[0] : undefined;
  };
  while (pos < input.length) {
    const ch = input[pos] as string;
    if (/\s/.test(ch)) {
      pos++;
    } else if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      tokens.push({ t: ch, pos });
      pos++;
    } else if (ch === '"') {
      const text = match(STRING);
      const value = text === undefined ? undefined : parseJSONString(text);
      if (text === undefined || value === undefined) {
        throw invalidFilter(`unterminated or invalid string at position ${pos + 1}`);
      }
      tokens.push({ t: 'string', value, pos });
      pos += text.length;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const text = match(NUMBER);
      if (!text) throw invalidFilter(`invalid number at position ${pos + 1}`);
      tokens.push({ t: 'number', text, pos });
      pos += text.length;
    } else {
      const text = match(WORD);
      if (!text)
        throw invalidFilter(`unexpected character ${JSON.stringify(ch)} at position ${pos + 1}`);
      tokens.push({ t: 'word', text, pos });
      pos += text.length;
    }
  }
  return tokens;
}

/**
 * Parses a SCIM filter into a tree. A hand-written recursive-descent parser for the RFC
 * grammar (precedence: `not` > `and` > `or`), because SCIMMY's parser rewrites the filter
 * into disjunctive normal form and gets `not (a and b)` wrong.
 * @see RFC 7644 §3.4.2.2
 * @throws SCIMError invalidFilter on any syntax error, an over-long or over-deep filter.
 */
export function parseFilter(input: string): FilterNode {
  if (input.length > MAX_FILTER_LENGTH) {
    throw invalidFilter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const tokens = tokenize(input);
  if (tokens.length === 0) throw invalidFilter('the filter is empty');
  let i = 0;

  const peek = () => tokens[i];
  const isWord = (tok: Token | undefined, word: string): boolean =>
    tok?.t === 'word' && tok.text.toLowerCase() === word;
  const where = (tok: Token | undefined) => (tok ? `at position ${tok.pos + 1}` : 'at the end');
  const expect = (t: '(' | ')' | ']') => {
    const tok = tokens[i];
    if (tok?.t !== t) throw invalidFilter(`expected "${t}" ${where(tok)}`);
    i++;
  };

  function parseOr(depth: number, inBrackets: boolean): FilterNode {
    const terms = [parseAnd(depth, inBrackets)];
    while (isWord(peek(), 'or')) {
      i++;
      terms.push(parseAnd(depth, inBrackets));
    }
    return terms.length === 1 ? (terms[0] as FilterNode) : { op: 'or', terms };
  }

  function parseAnd(depth: number, inBrackets: boolean): FilterNode {
    const terms = [parseUnary(depth, inBrackets)];
    while (isWord(peek(), 'and')) {
      i++;
      terms.push(parseUnary(depth, inBrackets));
    }
    return terms.length === 1 ? (terms[0] as FilterNode) : { op: 'and', terms };
  }

  function parseUnary(depth: number, inBrackets: boolean): FilterNode {
    if (depth > MAX_FILTER_DEPTH)
      throw invalidFilter(`the filter nests deeper than ${MAX_FILTER_DEPTH}`);
    const tok = peek();
    if (isWord(tok, 'not')) {
      i++;
      expect('(');
      const term = parseOr(depth + 1, inBrackets);
      expect(')');
      return { op: 'not', term };
    }
    if (tok?.t === '(') {
      i++;
      const inner = parseOr(depth + 1, inBrackets);
      expect(')');
      return inner;
    }
    if (tok?.t !== 'word') throw invalidFilter(`expected an attribute ${where(tok)}`);
    i++;
    return parseAttrExp(tok.text, depth, inBrackets);
  }

  function parseAttrExp(path: string, depth: number, inBrackets: boolean): FilterNode {
    const tok = peek();
    if (tok?.t === '[') {
      if (inBrackets) throw invalidFilter(`"[" cannot nest inside another "[" ${where(tok)}`);
      i++;
      const filter = parseOr(depth + 1, true);
      expect(']');
      return { op: 'valuePath', path, filter };
    }
    if (tok?.t !== 'word')
      throw invalidFilter(`expected an operator after "${path}" ${where(tok)}`);
    const operator = tok.text.toLowerCase();
    i++;
    if (operator === 'pr') return { op: 'present', path };
    if (!COMPARE_OPS.has(operator))
      throw invalidFilter(`unknown operator "${tok.text}" ${where(tok)}`);
    return { op: 'compare', path, operator: operator as CompareOp, value: parseValue() };
  }

  function parseValue(): FilterValue {
    const tok = tokens[i++];
    if (tok?.t === 'string') return tok.value;
    if (tok?.t === 'number') return { number: tok.text };
    if (isWord(tok, 'true')) return true;
    if (isWord(tok, 'false')) return false;
    if (isWord(tok, 'null')) return null;
    throw invalidFilter(`expected a value (string, number, true, false or null) ${where(tok)}`);
  }

  const tree = parseOr(0, false);
  if (i < tokens.length)
    throw invalidFilter(`unexpected ${describe(tokens[i])} ${where(tokens[i])}`);
  return tree;
}

function describe(tok: Token | undefined): string {
  if (!tok) return 'end';
  if (tok.t === 'word') return `"${tok.text}"`;
  if (tok.t === 'string') return 'string';
  if (tok.t === 'number') return `number ${tok.text}`;
  return `"${tok.t}"`;
}
