// `imagesync apply --json` of some images in the emulator, from a manifest written for them: one target, the emulator's SSH port.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emulator } from '../../src/emulator/server.js';
import { runCli, type CliRun } from './cli.js';

export interface AppliedBuild {
  image: string;
  status: string;
  failedStep?: string;
  error?: string;
  /** The build log's path. */
  log: string;
}

/**
 * Writes `dir/images.manifest.json` (target: the emulator's `regions`, flavor m1.small, network
 * private, SSH as `debian` on the emulator's port, then `build`), runs apply in `dir` with the
 * emulator's clouds.yaml (written there before), and parses its report.
 */
export async function applyImages(
  emulator: Emulator,
  dir: string,
  images: unknown[],
  o: { build?: Record<string, unknown>; regions?: string[] } = {},
): Promise<CliRun & { builds: AppliedBuild[] }> {
  const manifest = join(dir, 'images.manifest.json');
  const build = { flavor: 'm1.small', network: 'private', ssh: { user: 'debian', port: emulator.sshPort }, ...o.build };
  await writeFile(manifest, JSON.stringify({ targets: [{ cloud: 'emulator', regions: o.regions ?? ['RegionOne'], build }], images }));
  const r = await runCli(['apply', '--yes', '--json', '--no-lock', '-m', manifest, '--poll-interval-ms', '100'], { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') } });
  let builds: AppliedBuild[] = [];
  try {
    builds = (JSON.parse(r.stdout) as { builds: AppliedBuild[] }).builds;
  } catch {
    // No report (bad input): the caller's assertions on code and stderr say why.
  }
  return { ...r, builds };
}
