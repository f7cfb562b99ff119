// The manifest's JSON Schema, generated from the zod schema so editors and imagesync agree.
import * as z from 'zod';
import { ManifestSchema } from './schema.js';

export const MANIFEST_SCHEMA_ID = 'urn:imagesync:schema:images.manifest';

/** Where the generated file lives, relative to the repository root. */
export const MANIFEST_SCHEMA_PATH = 'schema/images.manifest.schema.json';

/**
 * What each strategy needs and refuses (zod checks it in a refinement, which JSON Schema cannot
 * see): an import has source.url, source.checksum and diskFormat and no build; a build or a copy
 * has source.image, source.filter or both (what the semantic check says, for editors too) and
 * build, and none of the import's keys.
 */
const STRATEGY_RULES = {
  if: { required: ['strategy'], properties: { strategy: { const: 'import' } } },
  then: {
    required: ['diskFormat'],
    properties: { source: { required: ['url', 'checksum'], properties: { image: false, filter: false } }, build: false },
  },
  else: {
    required: ['build'],
    properties: {
      source: { anyOf: [{ required: ['image'] }, { required: ['filter'] }], properties: { url: false, checksum: false } },
      diskFormat: false,
    },
  },
};

/**
 * The JSON Schema of images.manifest.json. Generated for *input* so keys with defaults (such as
 * source.pick) are optional, as people write them.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ManifestSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const images = (rest.properties as Record<string, { items: Record<string, unknown> }>).images!.items;
  images.allOf = [STRATEGY_RULES];
  return {
    $schema,
    $id: MANIFEST_SCHEMA_ID,
    title: 'imagesync manifest',
    ...rest,
  };
}

/** The file's exact text: 2-space JSON and a final newline. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
