/**
 * A test resource type, Badge, with the attribute types and traits the User and Group
 * schemas lack: integer, decimal and dateTime attributes, a caseExact sub-attribute, an
 * immutable attribute, a multi-valued attribute of simple values, and a required
 * extension with a required attribute.
 */
import {
  type AttributeDef,
  createSchemaRegistry,
  type SchemaDef,
  type SchemaRegistry,
} from '../../../src/scim/schema-registry.ts';

/** The core schema of the Badge resource type. */
export const BADGE = 'urn:carebridge:test:2.0:Badge';
/** The extension every Badge must carry (`schemaExtensions.required`). */
export const BADGE_SITE = 'urn:carebridge:test:2.0:BadgeSite';

/** An attribute definition with RFC 7643 §2.2's defaults for whatever `over` leaves out. */
function attr(
  name: string,
  type: AttributeDef['type'],
  over: Partial<AttributeDef> = {},
): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...over,
  };
}

const badgeSchema: SchemaDef = {
  id: BADGE,
  name: 'Badge',
  description: 'A staff badge (test schema)',
  attributes: [
    attr('number', 'integer', { required: true }),
    attr('weight', 'decimal'),
    attr('issuedAt', 'dateTime'),
    attr('serial', 'string', { mutability: 'immutable', caseExact: true }),
    attr('keys', 'complex', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', { caseExact: true }),
        attr('rank', 'integer'),
        attr('issuedAt', 'dateTime'),
        attr('primary', 'boolean'),
      ],
    }),
    attr('tags', 'string', { multiValued: true }),
  ],
};

const badgeSiteSchema: SchemaDef = {
  id: BADGE_SITE,
  name: 'BadgeSite',
  description: 'Where a badge is valid (test extension)',
  attributes: [attr('site', 'string', { required: true }), attr('room', 'string')],
};

/** The standard registry plus the Badge resource type, whose BADGE_SITE extension is required. */
export function registryWithBadges(): SchemaRegistry {
  const registry = createSchemaRegistry([badgeSchema, badgeSiteSchema]);
  registry.addResourceType({
    name: 'Badge',
    endpoint: '/Badges',
    description: 'Staff badge (test resource type)',
    schema: BADGE,
    schemaExtensions: [{ schema: BADGE_SITE, required: true }],
  });
  return registry;
}
