// A key pair as Nova generates one below microversion 2.92: RSA 2048, the private key in PKCS#1 PEM, the public key tagged Generated-by-Nova.
import { createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export interface GeneratedKeyPair {
  /** `ssh-rsa AAAA… Generated-by-Nova` */
  publicKey: string;
  /** `-----BEGIN RSA PRIVATE KEY-----…` (a secret: only in the create reply, never stored). */
  privateKey: string;
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An SSH mpint: big-endian, a leading zero byte when the top bit is set. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export async function generateNovaKeyPair(): Promise<GeneratedKeyPair> {
  const { privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicExponent: 65537,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    mpint(Buffer.from(jwk.e as string, 'base64url')),
    mpint(Buffer.from(jwk.n as string, 'base64url')),
  ]);
  return { publicKey: `ssh-rsa ${blob.toString('base64')} Generated-by-Nova`, privateKey };
}
