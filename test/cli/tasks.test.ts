// `imagesync tasks`: the repository's tasks with descriptions and documented args, as text and JSON.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeTask } from '../../src/cli/commands/tasks.js';
import { runCli } from '../helpers/cli.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** `imagesync tasks --tasks-dir DIR [--json]`, run from the repository root. */
function tasks(tasksDir: string, json = false) {
  return runCli(['tasks', '--tasks-dir', tasksDir, ...(json ? ['--json'] : [])], { cwd: repo });
}

describe('imagesync tasks', () => {
  it('lists harden and nginx from tasks/ with their descriptions and args (from their schemas)', async () => {
    const r = await tasks('tasks');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('harden  Harden sshd and kernel defaults, add a login banner, remove world-writable bits (idempotent)');
    expect(lines).toContain('          --arg allowPasswordAuth  true to keep PasswordAuthentication yes (e.g. a console-only image) (default false)');
    const nginx = lines.findIndex((l) => l.startsWith('nginx '));
    expect(lines[nginx]).toMatch(/^nginx   Install nginx \(when apt-get can\) and write nginx\.conf/);
    expect(lines.slice(nginx + 1, nginx + 5).map((l) => l.trim().split(/\s+/)[1])).toEqual(['workers', 'install', 'port', 'root']);
    expect(r.stdout).toContain('Run one with: imagesync run TASK -H user@host[:port] [--arg key=value ...]');
  });

  it('--json gives name, summary, details and args', async () => {
    const r = await tasks('tasks', true);
    const json = JSON.parse(r.stdout) as { tasksDir: string; tasks: Array<{ name: string; summary: string; details: string[]; args: Array<{ name: string; help: string }> }> };
    expect(json.tasksDir).toBe('tasks');
    expect(json.tasks.map((t) => t.name)).toEqual(['harden', 'nginx']);
    const nginx = json.tasks[1]!;
    expect(nginx.args[0]).toEqual({ name: 'workers', help: 'worker_processes: a whole number (1-1024) or "auto" (default "auto")' });
    expect(nginx.details[0]).toMatch(/^Without a reachable package source/);
  });

  it('says how to add a task when the directory has none', async () => {
    const r = await tasks('no-such-dir');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No tasks in no-such-dir; a task is a file there ending with `export default defineTask({ name, description, run })`.\n');
  });

  it('a broken task file is exit 3 naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagesync-tasks-'));
    try {
      await writeFile(join(dir, 'oops.ts'), 'export default 42;\n');
      const r = await tasks(dir);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^imagesync: \S*oops\.ts: default export is not a defineTask\(\.\.\.\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeTask', () => {
  it('splits summary, details and a multi-line Args section', () => {
    expect(
      describeTask({
        name: 't',
        description: 'Do it\nMore words.\nArgs:\n  a  first\n     two words\n  b-c  second\n  flag\n\nAfter.',
      }),
    ).toEqual({
      name: 't',
      summary: 'Do it',
      details: ['More words.', 'After.'],
      args: [
        { name: 'a', help: 'first two words' },
        { name: 'b-c', help: 'second' },
        { name: 'flag', help: '' },
      ],
    });
  });
});
