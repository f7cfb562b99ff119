// Tests the generated JSON Schema: the committed file is current, and it describes the manifest editors see.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA_ID, manifestJsonSchema, manifestJsonSchemaText } from '../../src/manifest/json-schema.js';

const repoRoot = new URL('../../', import.meta.url);

describe('schema/images.manifest.schema.json', () => {
  it('is not stale', async () => {
    const committed = await readFile(fileURLToPath(new URL('schema/images.manifest.schema.json', repoRoot)), 'utf8');
    expect(
      committed,
      'schema/images.manifest.schema.json is stale: run `npx tsx src/manifest/write-schema.ts` (or `npm run build && npm run schema`) and commit the result',
    ).toBe(manifestJsonSchemaText());
  });

  it('is 2-space JSON with a final newline', () => {
    const text = manifestJsonSchemaText();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"\$schema"/);
  });

  it('allows "$schema", forbids unknown keys, and carries $id, title and descriptions', () => {
    const schema = manifestJsonSchema() as {
      $id: string;
      title: string;
      description: string;
      properties: Record<string, { description?: string }>;
      additionalProperties: boolean;
      required: string[];
    };
    expect(schema.$id).toBe(MANIFEST_SCHEMA_ID);
    expect(schema.title).toBe('imagesync manifest');
    expect(schema.description).toMatch(/manifest/);
    expect(Object.keys(schema.properties)).toEqual(['$schema', 'defaults', 'targets', 'images']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['targets', 'images']);
    expect(schema.properties.images?.description).toBeTruthy();
  });

  it('leaves keys with defaults optional, as people write them (source.pick, strategy)', () => {
    const text = manifestJsonSchemaText();
    const image = JSON.parse(text).properties.images.items as {
      required: string[];
      properties: { source: { required?: string[]; properties: { pick: { default: string } } }; strategy: { default: string } };
    };
    expect(image.required).toEqual(['name', 'source']);
    expect(image.properties.source.required).toBeUndefined();
    expect(image.properties.source.properties.pick.default).toBe('only');
    expect(image.properties.strategy.default).toBe('build');
  });

  it('says what each strategy needs: an import its URL, checksum and format and no build; a build or a copy its source image (by name, filter or both) and steps', () => {
    const rules = (manifestJsonSchema() as { properties: { images: { items: { allOf: Array<Record<string, any>> } } } }).properties.images.items.allOf[0]!;
    expect(rules.if).toEqual({ required: ['strategy'], properties: { strategy: { const: 'import' } } });
    expect(rules.then.required).toEqual(['diskFormat']);
    expect(rules.then.properties.source.required).toEqual(['url', 'checksum']);
    expect(rules.then.properties.source.properties).toEqual({ image: false, filter: false });
    expect(rules.then.properties.build).toBe(false);
    expect(rules.else.required).toEqual(['build']);
    // A name, a metadata filter, or both.
    expect(rules.else.properties.source.anyOf).toEqual([{ required: ['image'] }, { required: ['filter'] }]);
    expect(rules.else.properties.diskFormat).toBe(false);
  });

  it('is the file the example manifest points at', async () => {
    const example = JSON.parse(await readFile(fileURLToPath(new URL('images.manifest.json', repoRoot)), 'utf8')) as {
      $schema: string;
    };
    expect(example.$schema).toBe('./schema/images.manifest.schema.json');
  });
});
