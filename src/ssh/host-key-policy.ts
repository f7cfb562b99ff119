// How a server's host key is checked, and the key it presented: shared by the connection, its verifier and jump hosts.

/** How the server's host key is checked; there is deliberately no "accept anything". */
export type HostKeyPolicy =
  /**
   * Fingerprints pinned from the server's console log (cloud-init prints them at first boot). They
   * may still be on their way (a promise): the TCP connection and key exchange go ahead, and the
   * verdict, before which nothing is sent, waits for them; a rejected promise refuses with its error.
   */
  | { kind: 'fingerprints'; sha256: readonly string[] | Promise<readonly string[]> }
  /** An OpenSSH known_hosts file; an unknown host is refused unless acceptNew, a changed key always. */
  | { kind: 'known_hosts'; file: string; acceptNew: boolean };

export interface PresentedHostKey {
  type: string;
  fingerprintSha256: string;
}
