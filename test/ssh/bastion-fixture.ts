// A bastion and a private server as real sshd in network namespaces: the private one is reachable from the bastion only, never from the test process.
import { connect as netConnect } from 'node:net';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { createTestNetwork, type TestNetwork } from '../../src/testing/netns.js';
import { newKeyPair, type KeyPair } from './sshd-fixture.js';

export interface BastionNetwork {
  net: TestNetwork;
  /** In namespace "bastion", on the address the host reaches it at; logs every forwarded channel (DEBUG1). */
  bastion: Sshd;
  /** In namespace "private", on an address only the bastion's namespace has a route to. */
  target: Sshd;
  /** The key the bastion accepts. */
  bastionKey: KeyPair;
  /** The key the private server accepts (not the bastion's: each hop logs in with its own). */
  targetKey: KeyPair;
  /** The bastion's address on the private link: where the private server sees connections come from. */
  bastionPrivateAddress: string;
  stop(): Promise<void>;
}

/**
 *   test process (host) --veth-- [ns bastion: sshd] --veth-- [ns private: sshd]
 * The host has an "unreachable" route for the private link, so a direct connect fails at once
 * (EHOSTUNREACH): code that skipped the bastion could not pass a test built on this.
 */
export async function startBastionNetwork(): Promise<BastionNetwork> {
  const net = await createTestNetwork();
  const started: Sshd[] = [];
  try {
    const nsBastion = await net.namespace('bastion');
    const nsPrivate = await net.namespace('private');
    const front = await net.link(undefined, nsBastion);
    const back = await net.link(nsBastion, nsPrivate);
    await net.unreachableFromHost(back.cidr);
    const bastionKey = newKeyPair();
    const targetKey = newKeyPair();
    const bastion = await startSshd({ netns: nsBastion, host: front.b, authorizedKeys: [bastionKey.public], logLevel: 'DEBUG1', sudo: false });
    started.push(bastion);
    const target = await startSshd({ netns: nsPrivate, host: back.b, authorizedKeys: [targetKey.public] });
    started.push(target);
    return {
      net,
      bastion,
      target,
      bastionKey,
      targetKey,
      bastionPrivateAddress: back.a,
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
        await net.close();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    await net.close();
    throw err;
  }
}

/** The error a direct TCP connect from this process gets (the topology's proof), or "connected". */
export function directConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = netConnect({ host, port });
    sock.setTimeout(5_000, () => {
      sock.destroy();
      resolve('timeout');
    });
    sock.once('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** The direct-tcpip channels the bastion opened, as "host port" (sshd logs them at DEBUG1). */
export function forwardsLogged(bastion: Sshd): string[] {
  return [...bastion.log().matchAll(/server_request_direct_tcpip: originator \S+ port \d+, target (\S+) port (\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
}
