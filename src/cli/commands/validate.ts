// `imagesync validate`: check the manifest offline; every problem at once, exit 3, nothing contacted.
import { loadManifest } from '../../manifest/load.js';
import { expandTargets } from '../../manifest/targets.js';
import { displayPath } from '../../output.js';
import { type CliDeps } from '../deps.js';

export interface ValidateOptions {
  manifest: string;
}

export async function runValidate(opts: ValidateOptions, deps: CliDeps): Promise<number> {
  const { manifest } = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const targets = expandTargets(manifest);
  deps.stdout.write(
    `${displayPath(deps.cwd, opts.manifest)}: valid — ${manifest.images.length} image${manifest.images.length === 1 ? '' : 's'}, ${targets.length} target${targets.length === 1 ? '' : 's'}\n`,
  );
  return 0;
}
