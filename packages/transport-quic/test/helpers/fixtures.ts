import { inject } from 'vitest';
import { createDevCa, createSelfSignedCertificate, type CertificateWithKey, type DevCa } from '@handoff/transport-quic';

export interface Fixtures {
  readonly ca: DevCa;
  readonly otherCa: DevCa;
  readonly server: CertificateWithKey;
  /** Issued by `ca` for client authentication. */
  readonly client: CertificateWithKey;
  /** Issued by `otherCa`. */
  readonly strangerClient: CertificateWithKey;
  /** Self-signed, like a Hytale client's. */
  readonly player: CertificateWithKey;
}

let cached: Promise<Fixtures> | undefined;

/** One CA and a set of certificates per test file (key generation is the slow part). */
export function fixtures(): Promise<Fixtures> {
  cached ??= (async () => {
    const ca = await createDevCa({ commonName: 'Handoff test CA' });
    const otherCa = await createDevCa({ commonName: 'Someone else' });
    return {
      ca,
      otherCa,
      server: await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1', '::1'], usage: 'server' }),
      client: await ca.issue({ commonName: 'proxy', usage: 'client' }),
      strangerClient: await otherCa.issue({ commonName: 'stranger', usage: 'client' }),
      player: await createSelfSignedCertificate({ commonName: 'player', algorithm: 'Ed25519', usage: 'client' }),
    };
  })();
  return cached;
}

export const loopback = { host: '127.0.0.1', port: 0 } as const;

export function quicPeerPath(): string {
  const peer = inject('quicPeer');
  if ('error' in peer) throw new Error(peer.error);
  return peer.path;
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
export const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

export async function readAllText(readable: ReadableStream<Uint8Array>): Promise<string> {
  const reader = readable.getReader();
  let out = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out += text(value);
  }
}

/** Collects process-level unhandled rejections while `fn` runs (and a grace period after it). */
export async function unhandledRejectionsDuring(fn: () => Promise<void>, graceMs = 100): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, graceMs));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}
