// Temporary fake home, cwd and /etc/openstack for config tests: no real home is ever read.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConfigSources } from '../../src/config/clouds.js';

export interface Fixture {
  root: string;
  cwd: string;
  home: string;
  etc: string;
  /** The config dir under the fake home. */
  userDir: string;
  opts(env?: NodeJS.ProcessEnv): ConfigSources;
  write(path: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'imagesync-config-'));
  const cwd = join(root, 'work');
  const home = join(root, 'home');
  const etc = join(root, 'etc', 'openstack');
  const userDir = join(home, '.config', 'openstack');
  for (const d of [cwd, userDir, etc]) await mkdir(d, { recursive: true });
  return {
    root,
    cwd,
    home,
    etc,
    userDir,
    opts: (env = {}) => ({ env, cwd, home, systemDir: etc }),
    async write(path, text) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      return path;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export { rejection } from '../helpers/errors.js';

/** Dedent a template literal so YAML fixtures can be indented with the test code. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}
