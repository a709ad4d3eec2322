import { DirectoryError } from '../directory/directory-error.ts';
import type { RuleCompiler } from '../directory/rule-sql.ts';
import { type FilterNode, parseFilter } from './filter-parser.ts';
import { filterToSQL } from './filter-sql.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import { SCIMError } from './scim-error.ts';

/**
 * The group-rule compiler the directory is given: a rule is a SCIM filter over users
 * (core and extension attributes alike), translated by the same filter → SQL code as
 * `GET /Users?filter=`, over the alias `u`. A rule may not test `groups`: memberships
 * are what rules produce, and a rule reading them would depend on the order rules run.
 * @see RFC 7644 §3.4.2.2
 */
export function scimRuleCompiler(registry: SchemaRegistry): RuleCompiler {
  return {
    compile(rule) {
      try {
        const tree = parseFilter(rule);
        for (const path of topPaths(tree)) {
          if (registry.resolve('User', path)?.attribute.name === 'groups') {
            throw new DirectoryError(
              'invalidFilter',
              `a rule cannot test "${path}": group memberships are what rules make`,
            );
          }
        }
        const { sql, params } = filterToSQL(registry, 'User', tree, { alias: 'u' });
        return { sql, params };
      } catch (err) {
        if (err instanceof SCIMError) {
          throw new DirectoryError(
            'invalidFilter',
            `the rule is not a valid filter over users: ${err.detail}`,
          );
        }
        throw err;
      }
    },
  };
}

/** The attribute paths a filter names at its top level (inside `[…]` they are relative). */
function topPaths(node: FilterNode): string[] {
  switch (node.op) {
    case 'and':
    case 'or':
      return node.terms.flatMap(topPaths);
    case 'not':
      return topPaths(node.term);
    default:
      return [node.path];
  }
}
