// A container's snapshot as a layer tar: the entries of its export that its diff names, plus OCI whiteouts for deletions.
//
// The export's entries are copied block for block, never decoded and re-encoded: PAX records carry
// binary xattr values (security.capability) that a parse-and-pack round trip through strings corrupts.
import type { Readable } from 'node:stream';

/** `podman diff --format json` / `docker diff` as path lists (absolute paths). */
export interface ContainerChanges {
  changed: string[];
  added: string[];
  deleted: string[];
}

/** Paths the engine mounts over the container's own (podman/docker write them per container): never image data. */
const ENGINE_OWNED = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.containerenv', 'run/.containerenv', 'run/secrets']);

export const WHITEOUT_PREFIX = '.wh.';

function norm(p: string): string {
  return p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

/**
 * podman's JSON (`{changed, added, deleted}`), the API's (`[{Path, Kind}]`, Kind 0 changed, 1 added,
 * 2 deleted), or the plain lines both CLIs print (`C /etc`, `A /opt/x`, `D /usr/share/doc/less`).
 */
export function parseDiff(text: string): ContainerChanges {
  const out: ContainerChanges = { changed: [], added: [], deleted: [] };
  const t = text.trim();
  if (t !== '' && t[0] !== '{' && t[0] !== '[') {
    for (const line of t.split('\n')) {
      const m = /^([ACD]) (.+)$/.exec(line);
      if (m) (m[1] === 'A' ? out.added : m[1] === 'D' ? out.deleted : out.changed).push(m[2] as string);
    }
    return out;
  }
  const v = JSON.parse(t === '' ? 'null' : t) as unknown;
  if (Array.isArray(v)) {
    for (const e of v as Array<{ Path?: string; Kind?: number }>) {
      if (typeof e.Path !== 'string') continue;
      (e.Kind === 1 ? out.added : e.Kind === 2 ? out.deleted : out.changed).push(e.Path);
    }
  } else if (v && typeof v === 'object') {
    const o = v as Partial<Record<keyof ContainerChanges, string[] | null>>;
    out.changed = o.changed ?? [];
    out.added = o.added ?? [];
    out.deleted = o.deleted ?? [];
  }
  return out;
}

function octal(buf: Buffer, at: number, len: number): number {
  // Base-256 (high bit set) for sizes past 8 GiB.
  if ((buf[at] as number) & 0x80) {
    let n = 0;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + (buf[i] as number);
    return n;
  }
  const s = buf.subarray(at, at + len).toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function cstr(buf: Buffer, at: number, len: number): string {
  const s = buf.subarray(at, at + len);
  const z = s.indexOf(0);
  return (z === -1 ? s : s.subarray(0, z)).toString('utf8');
}

/** `path=` and `size=` from a PAX extended header's records (values are bytes; only these two are read). */
function paxFields(data: Buffer): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) break;
    const len = parseInt(data.subarray(off, sp).toString('latin1'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    const key = rec.subarray(0, eq).toString('latin1');
    if (key === 'path') out.path = rec.subarray(eq + 1).toString('utf8');
    if (key === 'size') out.size = Number(rec.subarray(eq + 1).toString('latin1'));
    off += len;
  }
  return out;
}

function padded(n: number): number {
  return Math.ceil(n / 512) * 512;
}

function header(name: string, type: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** An empty regular file entry, with a GNU long-name entry first when the name does not fit ustar's 100 bytes. */
export function fileEntry(name: string): Buffer {
  if (Buffer.byteLength(name) < 100) return header(name, '0', 0, 0o644);
  const data = Buffer.from(`${name}\0`);
  return Buffer.concat([header('././@LongLink', 'L', data.length, 0o644), data, Buffer.alloc(padded(data.length) - data.length), header(name.slice(0, 99), '0', 0, 0o644)]);
}

/** The whiteout that deletes `path` (relative) in the layer below: `dir/.wh.name`. */
export function whiteoutName(path: string): string {
  const p = norm(path);
  const cut = p.lastIndexOf('/');
  return cut === -1 ? `${WHITEOUT_PREFIX}${p}` : `${p.slice(0, cut)}/${WHITEOUT_PREFIX}${p.slice(cut + 1)}`;
}

/**
 * Read an export stream and keep the entries named in `changes` (changed directories as their own
 * entry only: their unchanged children are not in the list), then one whiteout per deleted path.
 */
export async function layerFromExport(exported: Readable, changes: ContainerChanges): Promise<Buffer> {
  const keep = new Set([...changes.changed, ...changes.added].map(norm).filter((p) => p !== '' && !ENGINE_OWNED.has(p)));
  const out: Buffer[] = [];
  let buf: Buffer = Buffer.alloc(0);
  /** Raw bytes of the PAX / GNU long-name headers that precede the next entry. */
  let pending: Buffer[] = [];
  let longName: string | undefined;
  let pax: { path?: string; size?: number } = {};
  /** Bytes of the current entry still to copy (keep) or skip (drop). */
  let remaining = 0;
  let keeping = false;
  /** Extended header being read (its data is needed, not only copied). */
  let ext: { type: string; need: number; chunks: Buffer[] } | undefined;
  let ended = false;

  for await (const chunk of exported as AsyncIterable<Buffer>) {
    if (ended) continue;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (remaining > 0) {
        const n = Math.min(remaining, buf.length);
        if (n === 0) break;
        const part = buf.subarray(0, n);
        if (ext) ext.chunks.push(Buffer.from(part));
        else if (keeping) out.push(Buffer.from(part));
        buf = buf.subarray(n);
        remaining -= n;
        if (remaining > 0) break;
        if (ext) {
          const raw = Buffer.concat(ext.chunks);
          pending.push(raw);
          const data = raw.subarray(0, ext.need);
          if (ext.type === 'x') pax = { ...pax, ...paxFields(data) };
          else if (ext.type === 'L') longName = cstr(data, 0, data.length);
          ext = undefined;
        }
        continue;
      }
      if (buf.length < 512) break;
      const h = buf.subarray(0, 512);
      buf = buf.subarray(512);
      if (h.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const type = String.fromCharCode(h[156] || 0x30);
      const size = octal(h, 124, 12);
      if (type === 'x' || type === 'L' || type === 'K') {
        pending.push(Buffer.from(h));
        ext = { type, need: size, chunks: [] };
        remaining = padded(size);
        continue;
      }
      if (type === 'g') {
        // A global header applies to every entry after it: always keep it.
        out.push(Buffer.from(h));
        keeping = true;
        remaining = padded(size);
        continue;
      }
      const prefix = cstr(h, 345, 155);
      const short = cstr(h, 0, 100);
      const name = norm(pax.path ?? longName ?? (prefix && h.subarray(257, 262).toString('latin1') === 'ustar' ? `${prefix}/${short}` : short));
      // Hard links, symlinks and directories carry no data, whatever the size field says.
      const dataSize = type === '0' || type === '\0' || type === '7' ? (pax.size ?? size) : 0;
      keeping = keep.has(name);
      if (keeping) out.push(...pending, Buffer.from(h));
      pending = [];
      longName = undefined;
      pax = {};
      remaining = padded(dataSize);
    }
  }
  for (const d of changes.deleted) {
    const p = norm(d);
    if (p !== '' && !ENGINE_OWNED.has(p)) out.push(fileEntry(whiteoutName(p)));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
