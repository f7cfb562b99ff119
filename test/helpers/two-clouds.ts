// Two emulated providers for one manifest: an emulator per cloud, one clouds.yaml naming both.
import { parse, stringify } from 'yaml';
import type { Emulator } from '../../src/emulator/server.js';
import { writePrivateFile } from '../../src/emulator/clouds-yaml.js';

/** One clouds.yaml with a cloud per emulator, named as given. */
export async function writeCloudsYaml(file: string, clouds: Record<string, Emulator>): Promise<void> {
  const doc: { clouds: Record<string, unknown> } = { clouds: {} };
  for (const [name, emulator] of Object.entries(clouds)) {
    Object.assign(doc.clouds, (parse(emulator.cloudsYaml(name)) as typeof doc).clouds);
  }
  await writePrivateFile(file, stringify(doc));
}
