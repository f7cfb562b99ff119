// Host key checks: SHA256 fingerprints, public key lines, and OpenSSH known_hosts files.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';

/** `SHA256:` + unpadded base64 of the key blob, as `ssh-keygen -l` and cloud-init print it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Compare fingerprints leniently about the trailing `=` padding and the `SHA256:` prefix case. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string): string => s.trim().replace(/^sha256:/i, 'SHA256:').replace(/=+$/, '');
  return norm(a) === norm(b);
}

/** The key type named inside an SSH wire-format key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyBlobType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

export interface PublicKeyLine {
  type: string;
  blob: Buffer;
  comment: string;
}

/** Parse `TYPE BASE64 [COMMENT]` (an `.pub` file or `authorized_keys` line without options). */
export function parsePublicKeyLine(line: string): PublicKeyLine {
  const [type, b64, ...rest] = line.trim().split(/\s+/);
  if (!type || !b64) throw new Error('not an OpenSSH public key line (expected "TYPE BASE64 [COMMENT]")');
  const blob = Buffer.from(b64, 'base64');
  if (keyBlobType(blob) !== type) throw new Error(`public key line says ${type} but its key is ${keyBlobType(blob)}`);
  return { type, blob, comment: rest.join(' ') };
}

/** The OpenSSH public key line for a private key (PEM or OpenSSH format); throws on a bad key. */
export function publicKeyLineOf(privateKey: string | Buffer, comment = ''): string {
  // ssh2 is CommonJS: Node's ESM loader cannot see its named exports, so go through the default export.
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error('no key found');
  const blob = key.getPublicSSH();
  return `${key.type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** The name known_hosts uses for a host: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** ssh2 algorithm names that present a key of the given known_hosts key type. */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker?: '@revoked' | '@cert-authority';
  type: string;
  blob: Buffer;
}

function matchesHashed(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name)) — HashKnownHosts yes.
  const [, kind, salt64, hash64] = pattern.split('|');
  if (kind !== '1' || !salt64 || !hash64) return false;
  const expected = Buffer.from(hash64, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt64, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Does the host field of a known_hosts line (comma list, `!` negation, globs, hashed) name `name`? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return matchesHashed(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globToRegExp(pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Entries of a known_hosts text that apply to `name` (see knownHostsName). Bad lines are skipped, as ssh does. */
export function knownHostEntries(text: string, name: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64 || !hostFieldMatches(hosts, name)) return;
    const blob = Buffer.from(b64, 'base64');
    if (keyBlobType(blob) !== type) return;
    out.push({ line: i + 1, type, blob, ...(marker ? { marker } : {}) });
  });
  return out;
}

/** Read a known_hosts file; a missing file is an empty one. */
export async function readKnownHosts(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Append one `name TYPE BASE64` line, creating the file (0600) and its directory (0700) if needed. */
export async function appendKnownHost(file: string, name: string, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readKnownHosts(file);
  const line = `${name} ${keyBlobType(keyBlob)} ${keyBlob.toString('base64')}`;
  // Several hosts reached through one new jump host each meet it first: record it once.
  if (existing.split(/\r?\n/).some((l) => l.trim() === line)) return;
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${sep}${line}\n`, { mode: 0o600 });
}
