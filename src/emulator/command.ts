// `imagesync emulator`: serve the local cloud until the signal aborts, with a private clouds.yaml to use it.
import { resolve } from 'node:path';
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
  const emulator = await startEmulator({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.regions !== undefined ? { regions: opts.regions } : {}),
    ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
    ...(opts.errorRate !== undefined ? { errorRate: opts.errorRate } : {}),
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    ...(opts.fillerImages !== undefined ? { fillerImagesPerRegion: opts.fillerImages } : {}),
  });
  try {
    await emulator.writeCloudsYaml(cloudsYamlFile, 'emulator');
    const user = emulator.users[0];
    deps.stderr.write(
      [
        `imagesync emulator: listening on ${emulator.url} (regions ${emulator.regions.join(', ')})`,
        `  Keystone ${emulator.authUrl}, user ${user?.name ?? '?'}, project ${user?.project.name ?? '?'}`,
        `  clouds.yaml (mode 0600, holds the password): ${cloudsYamlFile}`,
        `  use it: OS_CLIENT_CONFIG_FILE=${cloudsYamlFile} OS_CLOUD=emulator imagesync plan`,
        '  stop with Ctrl-C',
        '',
      ].join('\n'),
    );
    // One line of data on stdout for scripts; no secrets in it.
    deps.stdout.write(
      `${JSON.stringify({ url: emulator.url, authUrl: emulator.authUrl, cloud: 'emulator', cloudsYaml: cloudsYamlFile, regions: emulator.regions })}\n`,
    );
    await untilAborted(deps.signal);
    deps.stderr.write('imagesync emulator: stopping\n');
  } finally {
    await emulator.close();
  }
  return 0;
}
