// `imagesync emulator`: serve the local cloud until the signal aborts, with a private clouds.yaml to use it.
import { resolve } from 'node:path';
import type { ComputeBackendChoice } from './compute-backend.js';
import { InputError } from '../errors.js';
import { BASE_IMAGES } from './seed.js';
import { startEmulator } from './server.js';

export interface EmulatorCommandOptions {
  port?: number;
  host?: string;
  regions?: string[];
  cloudsYamlFile?: string;
  latencyMs?: number;
  errorRate?: number;
  pageSize?: number;
  fillerImages?: number;
  computeBackend?: ComputeBackendChoice;
  /** Port of every build server's sshd at its own address (default 22 for namespace, 2222 for container). */
  sshPort?: number;
  containerEngine?: string;
  /** Make the root file systems of these seeded images (empty: all of them; container backend), then exit. */
  prepareOnly?: string[];
}

export interface EmulatorCommandDeps {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export const DEFAULT_CLOUDS_YAML = '.imagesync/emulator/clouds.yaml';

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
}

export async function runEmulatorCommand(opts: EmulatorCommandOptions, deps: EmulatorCommandDeps): Promise<number> {
  const cloudsYamlFile = resolve(opts.cloudsYamlFile ?? DEFAULT_CLOUDS_YAML);
  const unknown = (opts.prepareOnly ?? []).filter((n) => !BASE_IMAGES.some((b) => b.name === n));
  if (unknown.length) throw new InputError(`--prepare-only: no seeded image ${unknown.join(', ')}; seeded: ${BASE_IMAGES.map((b) => b.name).join(', ')}`);
  const emulator = await startEmulator({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.regions !== undefined ? { regions: opts.regions } : {}),
    ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
    ...(opts.errorRate !== undefined ? { errorRate: opts.errorRate } : {}),
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    ...(opts.fillerImages !== undefined ? { fillerImagesPerRegion: opts.fillerImages } : {}),
    ...(opts.sshPort !== undefined ? { sshPort: opts.sshPort } : {}),
    ...(opts.containerEngine !== undefined ? { containerEngine: opts.containerEngine } : {}),
    computeBackend: opts.computeBackend ?? 'auto',
    log: (line) => deps.stderr.write(`imagesync emulator: ${line}\n`),
  });
  try {
    if (opts.prepareOnly) {
      const started = Date.now();
      deps.stderr.write(`imagesync emulator: ${emulator.computeSummary}\n`);
      if (emulator.computeBackend === 'none') return 1;
      const names = opts.prepareOnly;
      await emulator.prepareImages(names.length ? names : undefined);
      deps.stderr.write(`imagesync emulator: images ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    await emulator.writeCloudsYaml(cloudsYamlFile, 'emulator');
    const user = emulator.users[0];
    deps.stderr.write(
      [
        `imagesync emulator: listening on ${emulator.url} (regions ${emulator.regions.join(', ')})`,
        `  Keystone ${emulator.authUrl}, user ${user?.name ?? '?'}, project ${user?.project.name ?? '?'}`,
        `  clouds.yaml (mode 0600, holds the password): ${cloudsYamlFile}`,
        `  ${emulator.computeSummary}`,
        ...emulator.unbootable.map((u) => `  not seeded: ${u.name}: ${u.reason}`),
        `  build servers answer SSH on their own address, port ${emulator.sshPort}${emulator.sshPort === 22 ? '' : `: set "ssh": { "port": ${emulator.sshPort} } in the build of the manifest's emulator target`}`,
        `  use it: OS_CLIENT_CONFIG_FILE=${cloudsYamlFile} OS_CLOUD=emulator imagesync plan`,
        '  stop with Ctrl-C',
        '',
      ].join('\n'),
    );
    // One line of data on stdout for scripts; no secrets in it.
    deps.stdout.write(
      `${JSON.stringify({ url: emulator.url, authUrl: emulator.authUrl, cloud: 'emulator', cloudsYaml: cloudsYamlFile, regions: emulator.regions, sshPort: emulator.sshPort, computeBackend: emulator.computeBackend })}\n`,
    );
    await untilAborted(deps.signal);
    deps.stderr.write('imagesync emulator: stopping\n');
  } finally {
    await emulator.close();
  }
  return 0;
}
