// loadTasks with tsx against real task files, then a loaded task run against a real sshd.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { runTask } from '../../src/tasks/context.js';
import { TaskLoadError, describeTasks, loadTaskSet, loadTasks } from '../../src/tasks/loader.js';
import { requireSudo, useSshFixture } from '../ssh/sshd-fixture.js';

const fixtures = fileURLToPath(new URL('../fixtures/tasks/', import.meta.url));
const shown = (p: string): string => relative(process.cwd(), join(fixtures, p));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function loadError(dir: string): Promise<TaskLoadError> {
  try {
    await loadTasks(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(TaskLoadError);
    return err as TaskLoadError;
  }
  throw new Error('expected loadTasks to fail');
}

describe('loadTasks', () => {
  it('loads .ts, .mts and .js tasks (default or `task` export) and skips _helpers', async () => {
    const tasks = await loadTasks(join(fixtures, 'good'));
    expect([...tasks.keys()].sort()).toEqual(['hello', 'motd', 'shout']);
    expect(describeTasks(tasks)).toEqual([
      { name: 'hello', summary: 'Say hello' },
      { name: 'motd', summary: 'Write a message-of-the-day banner' },
      { name: 'shout', summary: 'Shout a word' },
    ]);
  });

  it('returns no tasks for a missing directory', async () => {
    expect((await loadTasks(join(fixtures, 'does-not-exist'))).size).toBe(0);
  });

  it('names the file when the default export is not a defineTask(...)', async () => {
    const err = await loadError(join(fixtures, 'bad-export'));
    expect(err.message).toBe(
      `${shown('bad-export/broken.ts')}: default export is not a defineTask(...); wrap it: \`export default defineTask({ name, description, run })\``,
    );
    expect(err.exitCode).toBe(3);
  });

  it('names the file when the task name differs from the file name', async () => {
    const err = await loadError(join(fixtures, 'bad-name'));
    expect(err.message).toBe(
      `${shown('bad-name/webserver.ts')}: task is named "nginx" but its file is webserver.ts; rename one so they match ("webserver")`,
    );
  });

  it('names the file when it exports nothing usable', async () => {
    const err = await loadError(join(fixtures, 'no-export'));
    expect(err.message).toMatch(/no-export\/empty\.ts: has no default export and no `task` export/);
  });

  describe('broken files written at test time', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'imagesync-tasks-'));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('gives a one-line error naming a file with a syntax error, at its line and column', async () => {
      const sub = join(dir, 'syntax');
      await rm(sub, { recursive: true, force: true });
      await mkdir(sub);
      await writeFile(join(sub, 'nginx.ts'), '// a task\nexport default defineTask({ name: "nginx", run() { const a = ; } });\n');
      const err = await loadError(sub);
      expect(err.message).toBe(`${relative(process.cwd(), join(sub, 'nginx.ts'))}:2:62: cannot be loaded: Unexpected ";"`);
    });

    it('names the line of an import that cannot be resolved (a package, a relative file)', async () => {
      for (const [type, sub] of [['commonjs', 'imports-cjs'], ['module', 'imports-esm']] as const) {
        const d = join(dir, sub);
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'package.json'), JSON.stringify({ type }));
        await writeFile(join(d, 'pkg.ts'), "// uses a package\n\nimport { thing } from 'no-such-package-here';\nexport default thing;\n");
        await writeFile(join(d, 'rel.ts'), "import { helper } from './_missing.js';\nexport default helper;\n");
        const { tasks, problems } = await loadTaskSet(d);
        expect(tasks.size).toBe(0);
        const shownIn = (f: string) => relative(process.cwd(), join(d, f));
        expect(problems, type).toEqual([
          expect.stringMatching(new RegExp(`^${escape(shownIn('pkg.ts'))}:3:24: cannot be loaded: Cannot find (module|package) 'no-such-package-here'$`)),
          expect.stringMatching(new RegExp(`^${escape(shownIn('rel.ts'))}:1:25: cannot be loaded: Cannot find module '\\S*_missing\\.js'$`)),
        ]);
      }
    });

    // Under vitest the stack is not source-mapped (vitest owns Error.prepareStackTrace): no line then,
    // never a wrong one. The CLI's own run names 3:7 (test/e2e/package.test.ts).
    it('names the line of a throw at load time in an ES module task, or no line — never a wrong one', async () => {
      const sub = join(dir, 'throws-esm');
      await mkdir(sub, { recursive: true });
      await writeFile(join(sub, 'package.json'), '{"type":"module"}');
      await writeFile(join(sub, 'boom.ts'), 'const a: number = 1;\n\nthrow new Error(`boom ${a}`);\n');
      const { problems } = await loadTaskSet(sub);
      expect(problems).toEqual([expect.stringMatching(new RegExp(`^${escape(relative(process.cwd(), join(sub, 'boom.ts')))}(:3:7)?: cannot be loaded: boom 1$`))]);
    });

    it('gives a one-line error naming a file that throws while loading', async () => {
      const sub = join(dir, 'throws');
      await mkdir(sub, { recursive: true });
      await writeFile(join(sub, 'boom.ts'), 'throw new Error("boom at import\\nsecond line");\n');
      const err = await loadError(sub);
      expect(err.message).toBe(`${relative(process.cwd(), join(sub, 'boom.ts'))}: cannot be loaded: boom at import`);
    });

    it('refuses two files defining one task', async () => {
      const sub = join(dir, 'dup');
      await mkdir(sub, { recursive: true });
      const define = relative(sub, fileURLToPath(new URL('../../src/tasks/define.js', import.meta.url)));
      const body = `import { defineTask } from '${define}';\nexport default defineTask({ name: 'dup', description: 'd', run() {} });\n`;
      await writeFile(join(sub, 'dup.ts'), body);
      await writeFile(join(sub, 'dup.mjs'), body.replace(/define\.js/, 'define.ts'));
      const err = await loadError(sub);
      expect(err.message).toMatch(/dup\.ts: task "dup" is also defined in .*dup\.mjs; keep one of them$/);
    });
  });
});

describe('running a loaded task', () => {
  const fx = useSshFixture();

  it('runs motd.ts against a real sshd with run, sudo, put, local and log', async () => {
    requireSudo(fx.sshd);
    const tasks = await loadTasks(join(fixtures, 'good'));
    const motd = tasks.get('motd')!;
    const c = await fx.connect();
    const path = `/etc/imagesync-motd-${process.pid}`;
    const logged: string[] = [];
    const redactor = new Redactor();
    await runTask(motd, {
      connection: c,
      target: { cloud: 'acme', region: 'RegionOne' },
      image: { name: 'ubuntu-24.04-web' },
      args: { text: 'Welcome', path },
      redactor,
      onLog: (m) => logged.push(m),
    });
    expect(logged).toEqual([`writing ${path} for ubuntu-24.04-web in acme/RegionOne`]);
    const r = await c.sudo(`stat -c '%a %U' ${path}; cat ${path}; rm -f ${path}`);
    expect(r.stdout).toBe(`644 root\n*** Welcome ***\n${fx.sshd.user} ubuntu-24.04-web\n`);
  });
});
