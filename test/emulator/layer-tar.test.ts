// A container's snapshot layer: export entries the diff names, copied block for block, and whiteouts for deletions.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { fileEntry, layerFromExport, parseDiff, whiteoutName } from '../../src/emulator/layer-tar.js';

const work = mkdtempSync(join(tmpdir(), 'layer-tar-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A root file system as `podman export` writes it: names without './', PAX for long names. */
function exportOf(files: Record<string, string>, format: 'pax' | 'gnu' = 'pax'): Buffer {
  const root = mkdtempSync(join(work, 'root-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (content.startsWith('->')) symlinkSync(content.slice(2), join(root, path));
    else writeFileSync(join(root, path), content);
  }
  return execFileSync('tar', ['-C', root, `--format=${format}`, '--numeric-owner', '-cf', '-', ...Object.keys(files).map((p) => p.split('/')[0] as string).filter((v, i, a) => a.indexOf(v) === i)], { maxBuffer: 64 * 1024 * 1024 });
}

function listing(tar: Buffer): string[] {
  const f = join(work, `l-${Math.random()}.tar`);
  writeFileSync(f, tar);
  return execFileSync('tar', ['-tf', f], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function content(tar: Buffer, member: string): string {
  const f = join(work, `c-${Math.random()}.tar`);
  writeFileSync(f, tar);
  return execFileSync('tar', ['-xOf', f, member], { encoding: 'utf8' });
}

/** Feed the bytes in awkward chunks, as a pipe does. */
function chunked(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

describe('parseDiff', () => {
  it("reads podman's JSON, the API's list and the CLIs' lines alike", () => {
    const want = { changed: ['/etc'], added: ['/opt/x'], deleted: ['/usr/share/doc/less'] };
    expect(parseDiff(JSON.stringify(want))).toEqual(want);
    expect(parseDiff(JSON.stringify([{ Path: '/etc', Kind: 0 }, { Path: '/opt/x', Kind: 1 }, { Path: '/usr/share/doc/less', Kind: 2 }]))).toEqual(want);
    expect(parseDiff('C /etc\nA /opt/x\nD /usr/share/doc/less\n')).toEqual(want);
    expect(parseDiff('')).toEqual({ changed: [], added: [], deleted: [] });
    expect(parseDiff('{"changed":null,"added":["/a"],"deleted":null}')).toEqual({ changed: [], added: ['/a'], deleted: [] });
  });
});

describe('layerFromExport', () => {
  const long = `opt/${'deep/'.repeat(30)}file.txt`;
  const files = {
    'etc/motd': 'changed motd\n',
    'etc/passwd': 'unchanged\n',
    'etc/hosts': '10.0.2.100 engine-written\n',
    'opt/new/a.txt': 'added\n',
    'opt/new/link': '->a.txt',
    [long]: 'long name\n',
    'usr/bin/tool': 'unchanged tool\n',
  };

  for (const format of ['pax', 'gnu'] as const) {
    it(`keeps exactly the changed and added entries (${format} headers, long names, any chunking), and no engine-owned file`, async () => {
      const exported = exportOf(files, format);
      const changes = {
        changed: ['/etc', '/etc/motd', '/etc/hosts'],
        added: ['/opt', '/opt/new', '/opt/new/a.txt', '/opt/new/link', ...long.split('/').map((_, i, a) => `/${a.slice(0, i + 1).join('/')}`).slice(1)],
        deleted: [],
      };
      for (const size of [1, 511, 512, 4096, exported.length]) {
        const layer = await layerFromExport(chunked(exported, size), changes);
        const names = listing(layer).map((n) => n.replace(/\/$/, ''));
        expect(names).toContain('etc/motd');
        expect(names).toContain('opt/new/a.txt');
        expect(names).toContain('opt/new/link');
        expect(names).toContain(long);
        expect(names).toContain('etc');
        expect(names).not.toContain('etc/passwd');
        expect(names).not.toContain('usr/bin/tool');
        expect(names).not.toContain('etc/hosts');
        expect(content(layer, long)).toBe('long name\n');
        expect(content(layer, 'etc/motd')).toBe('changed motd\n');
      }
    });
  }

  it('adds one OCI whiteout per deleted path, also for names too long for ustar, and ends with the archive trailer', async () => {
    const deep = `usr/share/${'x'.repeat(120)}`;
    const layer = await layerFromExport(Readable.from([exportOf({ 'etc/motd': 'm\n' })]), { changed: [], added: [], deleted: ['/usr/share/doc/less', '/toplevel', `/${deep}`] });
    expect(listing(layer)).toEqual(['usr/share/doc/.wh.less', '.wh.toplevel', `usr/share/.wh.${'x'.repeat(120)}`]);
    expect(layer.subarray(-1024).every((b) => b === 0)).toBe(true);
  });

  it('names whiteouts as the OCI image spec does', () => {
    expect(whiteoutName('/etc/ssh/ssh_host_rsa_key')).toBe('etc/ssh/.wh.ssh_host_rsa_key');
    expect(whiteoutName('/srv')).toBe('.wh.srv');
    expect(listing(Buffer.concat([fileEntry('a/.wh.b'), Buffer.alloc(1024)]))).toEqual(['a/.wh.b']);
  });
});
