// One version string: package.json's, whether the CLI runs from the sources or from the bundle (which has it built in).
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

describe('imagesync --version', () => {
  it('prints package.json\'s version from the sources', async () => {
    const r = await runCli(['--version'], { cwd: ROOT });
    expect(r).toEqual({ code: 0, stdout: `${await packageVersion()}\n`, stderr: '' });
  });

  it('prints the same from the bundle, without reading package.json at run time', async () => {
    if (!(await stat(join(ROOT, 'dist/bundle/imagesync.cjs')).catch(() => undefined))) throw new Error('dist/bundle/imagesync.cjs is missing: run `npm run build` first');
    // Built in: the name src/version.ts checks is replaced by the string everywhere in the bundle.
    expect(await readFile(join(ROOT, 'dist/bundle/imagesync.cjs'), 'utf8')).not.toContain('IMAGESYNC_BUNDLED_VERSION');
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/imagesync.js'), '--version'], { cwd: ROOT, env: { PATH: process.env.PATH } });
    expect(stdout).toBe(`${await packageVersion()}\n`);
  });
});
