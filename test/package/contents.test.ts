// What `npm pack` puts in the package: the CLI, the programmatic and task entries with their types, the shipped tasks, the schema and the CI examples — no tests, sources, maps or secrets.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../helpers/built.js';

let files: string[];
let pkg: { exports: Record<string, unknown>; bin: Record<string, string>; types: string };

beforeAll(async () => {
  await assertBuilt();
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, npm_config_loglevel: 'error' } });
  files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
  pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
}, 60_000);

describe('npm pack', () => {
  it('holds every file package.json names: bin, exports and their types', () => {
    const named = [
      ...Object.values(pkg.bin),
      pkg.types,
      ...Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v as Record<string, string>))),
    ].map((p) => p.replace(/^\.\//, ''));
    for (const p of named) {
      if (p.includes('*')) {
        const re = new RegExp(`^${p.replace(/[.]/g, '\\.').replace('*', '[^/]+')}$`);
        expect(files.filter((f) => re.test(f)), p).not.toEqual([]);
      } else expect(files, p).toContain(p);
    }
  });

  it('ships the tasks (harden, nginx and their helper), the schema and the CI examples init copies', () => {
    for (const f of ['dist/tasks/library/harden.js', 'dist/tasks/library/harden.d.ts', 'dist/tasks/library/nginx.js', 'dist/tasks/library/_files.js', 'schema/images.manifest.schema.json', 'examples/github-actions.yml', 'examples/gitlab-ci.yml']) {
      expect(files).toContain(f);
    }
  });

  it('leaves out tests, sources, source maps, test helpers, run state and anything that looks like a secret', () => {
    const unwanted = files.filter(
      (f) =>
        /^(src|test|bench|soak|scripts|tasks|files|\.ci)\//.test(f) ||
        f.endsWith('.map') ||
        f.startsWith('dist/testing/') ||
        f.includes('.imagesync/') ||
        /(^|\/)(clouds|secure)\.ya?ml$|\.pem$|\.key$|(^|\/)\.env|(^|\/)id_(rsa|ed25519|ecdsa)/.test(f) ||
        /(^|\/)images\.(manifest|lock)\.json$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });
});
