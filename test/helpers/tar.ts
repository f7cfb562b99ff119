// Read a (ustar/gnu) tar archive in memory: enough to find the files a build step wrote in a snapshot.
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  type: string;
  size: number;
  data: Buffer;
}

export function readTar(input: Buffer): TarEntry[] {
  const buf = input[0] === 0x1f && input[1] === 0x8b ? gunzipSync(input) : input;
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a: number, b: number) => header.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = str(156, 157) || '0';
    const prefix = str(345, 500);
    let name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (longName) {
      name = longName;
      longName = undefined;
    }
    out.push({ name: name.replace(/^\.\//, '').replace(/^\//, ''), type, size, data: Buffer.from(data) });
  }
  return out;
}
