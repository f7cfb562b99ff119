import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runEmulatorCommand } from '../../src/emulator/command.js';
import { until } from '../helpers/wait.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('imagesync emulator command', () => {
  it('serves until aborted, writes a private clouds.yaml and never prints the password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-cmd-'));
    const out = capture();
    const err = capture();
    const abort = new AbortController();
    try {
      const file = join(dir, '.imagesync', 'emulator', 'clouds.yaml');
      const done = runEmulatorCommand(
        { regions: ['RegionX', 'RegionY'], cloudsYamlFile: file, fillerImages: 2, pageSize: 10 },
        { stdout: out.stream, stderr: err.stream, signal: abort.signal },
      );
      await until(() => out.text().includes('\n'), { what: 'the emulator command printed its line' });
      const line = out.text().trim();
      const info = JSON.parse(line);
      expect(info).toMatchObject({ cloud: 'emulator', cloudsYaml: file, regions: ['RegionX', 'RegionY'] });
      const res = await fetch(`${info.url}/identity/v3`);
      expect(res.status).toBe(200);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, 'utf8')).toContain('password: emulator-secret');
      expect(err.text()).toContain(`OS_CLIENT_CONFIG_FILE=${file} OS_CLOUD=emulator`);
      expect(err.text()).toContain(info.url);

      abort.abort();
      expect(await done).toBe(0);
      expect(out.text() + err.text()).not.toContain('emulator-secret');
      expect(out.text() + err.text()).not.toContain('emulator-app-secret');
      await expect(fetch(`${info.url}/identity/v3`)).rejects.toThrow();
    } finally {
      abort.abort();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
