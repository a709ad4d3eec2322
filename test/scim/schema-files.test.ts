import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSchemaRegistry } from '../../src/scim/schema-files.ts';

const NOTE = 'urn:carebridge:test:2.0:Note';
let dirs: string[] = [];

/** A scim-schemas folder of its own with the given files. */
function schemaDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cb-schemas-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'schemas'));
  mkdirSync(join(dir, 'resource-types'));
  for (const [name, json] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof json === 'string' ? json : JSON.stringify(json));
  }
  return dir;
}

const noteSchema = {
  id: NOTE,
  name: 'Note',
  description: 'A test extension',
  attributes: [{ name: 'text', type: 'string' }],
};

afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('scim-schemas/ definitions loaded at start', () => {
  it('Should add an extension of User from a schema file and a resource-type file', () => {
    const registry = loadSchemaRegistry(
      schemaDir({
        'schemas/note.json': noteSchema,
        'resource-types/user.json': {
          name: 'User',
          endpoint: '/Users',
          schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
          schemaExtensions: [{ schema: NOTE, required: false }],
        },
      }),
    );
    expect(registry.schemaUrns('User')).toContain(NOTE);
    const resolved = registry.resolve('User', `${NOTE}:TEXT`);
    expect(resolved?.attribute).toMatchObject({
      name: 'text',
      multiValued: false,
      mutability: 'readWrite',
    });
  });

  it('Should add a custom resource type', () => {
    const registry = loadSchemaRegistry(
      schemaDir({
        'schemas/note.json': noteSchema,
        'resource-types/note.json': { name: 'Note', endpoint: '/Notes', schema: NOTE },
      }),
    );
    expect(registry.resourceType('Note')).toMatchObject({
      endpoint: '/Notes',
      schemaExtensions: [],
    });
  });

  it('Should refuse to start on a definition that is not valid, naming the file', () => {
    const dir = schemaDir({
      'schemas/broken.json': { ...noteSchema, attributes: [{ name: 'x', type: 'text' }] },
    });
    expect(() => loadSchemaRegistry(dir)).toThrow(/broken\.json.*attributes\.0\.type/);
  });

  it('Should refuse a resource type that names an unknown schema', () => {
    const dir = schemaDir({
      'resource-types/note.json': { name: 'Note', endpoint: '/Notes', schema: NOTE },
    });
    expect(() => loadSchemaRegistry(dir)).toThrow(/unknown schema urn:carebridge:test:2\.0:Note/);
  });

  it('Should load the repository own scim-schemas folder', () => {
    const registry = loadSchemaRegistry();
    expect(registry.resourceType('User').schema).toBe('urn:ietf:params:scim:schemas:core:2.0:User');
  });
});
