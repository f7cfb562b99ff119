// How the bytes reach one destination: the cloud's own import when it offers one that fits, else our own stream (pure).
import type { ImportMethodName } from '../openstack/glance-import.js';
import type { SourceRef } from './source.js';

export type Transfer =
  /** The destination's Glance fetches the image from the source region itself (same Keystone, Zed and later). */
  | { kind: 'glance-download'; region: string; imageId: string }
  /** The destination's Glance fetches the URL itself. */
  | { kind: 'web-download'; uri: string }
  /** imagesync streams the bytes: PUT .../file, or stage + glance-direct where direct uploads are refused. */
  | { kind: 'stream'; via: 'file' | 'stage' };

export interface DestinationFacts {
  /** The destination shares the source's Keystone (one cloud of clouds.yaml): its Glance can reach the source's with our token. */
  sameKeystone: boolean;
  /** What its GET /v2/info/import lists. */
  methods: readonly ImportMethodName[];
}

/**
 * glance-download only where the result can be verified (the source has a sha512 os_hash) and the
 * destination can reach the source (one Keystone); web-download only for a sha512 checksum, which
 * the destination's os_hash_value then proves (Glance cannot check a sha256 on import: imagesync
 * streams those itself and checks them on the way).
 */
export function chooseTransfer(source: SourceRef, dest: DestinationFacts): Transfer {
  if (source.kind === 'glance') {
    const verifiable = source.image.os_hash_algo === 'sha512' && typeof source.image.os_hash_value === 'string';
    if (dest.sameKeystone && verifiable && dest.methods.includes('glance-download')) {
      return { kind: 'glance-download', region: source.target.region, imageId: source.image.id };
    }
    return { kind: 'stream', via: 'file' };
  }
  if (source.checksum.algo === 'sha512' && dest.methods.includes('web-download')) return { kind: 'web-download', uri: source.url };
  return { kind: 'stream', via: 'file' };
}

export function describeTransfer(t: Transfer): string {
  switch (t.kind) {
    case 'glance-download':
      return `glance-download from ${t.region}`;
    case 'web-download':
      return 'web-download';
    default:
      return t.via === 'file' ? 'streamed upload' : 'streamed stage + glance-direct';
  }
}
