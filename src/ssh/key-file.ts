// Private key files as ssh reads them: permissions checked, a passphrase from an environment variable, decrypted keys re-encoded for ssh2.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';
import { UsageError, errorMessage } from '../errors.js';

export interface Identity {
  /** An unencrypted private key (decrypted in memory when it was encrypted on disk). */
  privateKey: string;
  /** The file it came from, for messages. */
  file: string;
}

export interface KeyFileOptions {
  /** Name of the environment variable holding the passphrase of an encrypted key. */
  passphraseEnv?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Receives the passphrase, so that no message can ever show it. */
  addSecret?(secret: string): void;
  /** What to do about an encrypted key when no passphrase variable is given (default: pass --passphrase-env VAR). */
  encryptedHint?: string;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * An ed25519 key as an unencrypted `openssh-key-v1` text. ssh2 decrypts ed25519 keys into PKCS#8,
 * which it cannot parse again, and connectSsh takes key text, not a parsed key.
 */
function ed25519OpenSsh(parsed: ParsedKey): string {
  const jwk = createPrivateKey(parsed.getPrivatePEM()).export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new Error('ed25519 key without its private part');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(parsed.comment ?? '')]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    count,
    sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(pub)])),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

/** The decrypted key as text ssh2 parses without a passphrase (RSA/ECDSA: traditional PEM). */
export function unencryptedKeyText(parsed: ParsedKey): string {
  const text = parsed.type === 'ssh-ed25519' ? ed25519OpenSsh(parsed) : parsed.getPrivatePEM();
  const again = ssh2.utils.parseKey(text);
  const key = Array.isArray(again) ? again[0] : again;
  if (!key || key instanceof Error || !key.getPublicSSH().equals(parsed.getPublicSSH())) {
    throw new Error(`a decrypted ${parsed.type} key could not be re-encoded`);
  }
  return text;
}

const isEncryptedError = (err: Error): boolean => /encrypted|passphrase/i.test(err.message);

/**
 * Read, check and (with a passphrase) decrypt one key file. `name` starts every message (`-i FILE`,
 * `default key FILE`, a manifest's path). Messages never contain key material.
 */
export async function readIdentityFile(file: string, opts: KeyFileOptions, name = `-i ${file}`): Promise<Identity> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${name}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? errorMessage(err)})`}; pass the path of an OpenSSH private key`);
  }
  if (!st.isFile()) throw new UsageError(`${name}: not a regular file; pass the path of an OpenSSH private key`);
  // ssh refuses such a key ("UNPROTECTED PRIVATE KEY FILE"): someone else may already have copied it.
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new UsageError(`${name}: permissions ${mode} are too open (group or others can access the private key); run chmod 600 ${file}`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${name}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its owner and permissions`);
  }
  if (/^\s*(ssh-|ecdsa-|sk-)/.test(text)) {
    throw new UsageError(`${name}: this is a public key; pass the private key file (the one without .pub)`);
  }
  const parsed = ssh2.utils.parseKey(text);
  if (!(parsed instanceof Error)) return { privateKey: text, file };
  if (!isEncryptedError(parsed)) {
    throw new UsageError(`${name}: not a usable private key (${parsed.message}); pass an OpenSSH or PEM private key`);
  }
  const varName = opts.passphraseEnv;
  if (varName === undefined || varName === '') {
    throw new UsageError(
      `${name}: the key is encrypted; ${opts.encryptedHint ?? 'put its passphrase in an environment variable and pass --passphrase-env VAR'}`,
    );
  }
  const passphrase = opts.env[varName];
  if (passphrase === undefined || passphrase === '') {
    throw new UsageError(`--passphrase-env ${varName}: the variable is not set or empty; export ${varName} with the passphrase of ${file}`);
  }
  opts.addSecret?.(passphrase);
  const decrypted = ssh2.utils.parseKey(text, passphrase);
  const key = Array.isArray(decrypted) ? decrypted[0] : decrypted;
  if (!key || key instanceof Error) {
    throw new UsageError(`${name}: the passphrase in $${varName} does not decrypt the key; check the variable`);
  }
  try {
    return { privateKey: unencryptedKeyText(key), file };
  } catch (err) {
    throw new UsageError(`${name}: the decrypted key cannot be used (${errorMessage(err)}); pass an unencrypted copy with -i`);
  }
}
