// Writes schema/images.manifest.schema.json: `npx tsx src/manifest/write-schema.ts` or `node dist/manifest/write-schema.js`.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_SCHEMA_PATH, manifestJsonSchemaText } from './json-schema.js';

/** Both src/manifest/ and dist/manifest/ sit two levels below the repository root. */
export const DEFAULT_SCHEMA_FILE = fileURLToPath(new URL(`../../${MANIFEST_SCHEMA_PATH}`, import.meta.url));

export async function writeManifestSchema(file: string = DEFAULT_SCHEMA_FILE): Promise<string> {
  await writeFile(file, manifestJsonSchemaText(), 'utf8');
  return file;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const written = await writeManifestSchema();
  process.stderr.write(`wrote ${path.relative(process.cwd(), written) || written}\n`);
}
